#!/usr/bin/env bash
# ThreadSanitizer over the concurrent code: the batcher and its queue, the model store (reloads, private copies),
# the transport (HTTP/1.1, HTTP/2, TLS, shutdown) and the daemon end to end (the daemon under test is the TSan build
# too: cancellation races, reloads under load, drain), and the collectives of the test world of ranks (threads) that
# the data-parallel trainer is tested in. A data race stops the process that has it (halt_on_error), so
# the test that drove it fails. Own build directory: .build-tsan.
#
#   bash scripts/tsan.sh [extra swift-test filter]
set -euo pipefail
cd "$(dirname "$0")/.."
FILTER=${1:-'MicroBatcherTests|BatchQueueTests|WorkspaceCacheTests|ModelStoreTests|AnsweringTests|HTTPServerTests|TransportLimitTests|ShutdownTests|TLSTests|ScoringEndToEndTests|RequestTracingTests|CommunicatorTests|GradientExchangeTests'}
swift build --build-tests --sanitize=thread --scratch-path .build-tsan 2>&1 | tail -1
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 suppressions=$PWD/scripts/tsan.supp"
swift test --skip-build --sanitize=thread --scratch-path .build-tsan --filter "$FILTER"
