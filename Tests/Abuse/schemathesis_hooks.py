"""schemathesis hooks for scripts/api_fuzz.sh (loaded through SCHEMATHESIS_HOOKS).

Deadlines below one second are lifted by one second: with a 1 ms deadline the documented answer is sometimes 504
deadline_exceeded (the request waited longer than the client allowed), a correct 5xx the not_a_server_error check
cannot tell from a bug. That covers `/v1/score`'s `deadline_ms` and the Open Inference Protocol's `deadline_ms` and
`timeout` (µs) parameters. Tiny deadlines are covered by Tests/Abuse/nasty_inputs.py instead. `before_call` runs for
every phase (examples, coverage, fuzzing); `map_body` did not reach the coverage phase's boundary values, whose
`deadline_ms: 1` failed a CI run on a busy machine.

Three of four cases of the `/v2/models/{model}…` routes name the served model (version 1, as api_fuzz.sh's daemon
serves it), so they reach the metadata and the infer decoder; the rest keep their generated names and get 404."""
import zlib

import schemathesis

SERVED = {"model": "funnel-student", "version": "1"}


def lift(holder, key, floor):
    value = holder.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value < floor:
        holder[key] = value + floor


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    body = case.body
    if isinstance(body, dict):
        lift(body, "deadline_ms", 1000)
        parameters = body.get("parameters")
        if isinstance(parameters, dict):
            lift(parameters, "deadline_ms", 1000)
            lift(parameters, "timeout", 1_000_000)
    path = case.path_parameters
    if path and "model" in path and zlib.crc32(repr(sorted(path.items())).encode()) % 4 != 0:
        for key in path:
            path[key] = SERVED.get(key, path[key])
