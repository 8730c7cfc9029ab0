#!/usr/bin/env python3
"""An independent reader of the Funnel checkpoint format, version 1.

Written from the format description rather than from the Swift reader, so that tools built on it (the
kernel benchmark's ONNX export) check the Swift writer instead of sharing its bugs. All integers are
little-endian:

    preamble (96 bytes)
       0 magic b"FNLCKPT\\0"      8 u32 version (1)       12 u32 tensor count
      16 u64 header offset (96)  24 u64 header length     32 u64 table offset
      40 u64 table length        48 u64 data offset       56 u64 data length
      64 u64 file length         72 u32 header CRC32C     76 u32 table CRC32C
      80 u32 flags               84 u32 reserved          88 u32 reserved
      92 u32 CRC32C of bytes 0..<92
    header: UTF-8 JSON
    tensor table, per tensor: u32 name length, u32 dtype (1 = float32), u32 rank, u32 CRC32C of the
      tensor's bytes, u64 offset (relative to the data offset, 64-aligned), u64 byte length,
      u64 dims[rank], UTF-8 name zero-padded to a multiple of 8
    data: each tensor row-major float32

Usage: python3 funnel_checkpoint.py FILE [--no-verify]   (prints the tensor table)
"""

import argparse
import json
import struct
import sys

import numpy as np

MAGIC = b"FNLCKPT\0"
VERSION = 1
DTYPE_FLOAT32 = 1
DATA_ALIGNMENT = 64
MAX_RANK = 8

# magic, version, tensor count, 7 × u64 (section offsets/lengths, file length), 6 × u32 (CRCs, flags, reserved).
_PREAMBLE = struct.Struct("<8sII7Q6I")
_ENTRY = struct.Struct("<IIIIQQ")
assert _PREAMBLE.size == 96

# CRC32C (Castagnoli), reflected polynomial 0x82F63B78, init and final xor 0xFFFFFFFF.
_POLY = 0x82F63B78
_MASK = 0xFFFFFFFF


def _byte_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(_POLY), table >> 1).astype(np.uint32)
    return table


_TABLE = _byte_table()
# A linear map on the 32-bit CRC register is stored as the images of its 32 basis bits.
_IDENTITY = np.uint32(1) << np.arange(32, dtype=np.uint32)
_ONE_ZERO_BYTE = _TABLE[_IDENTITY & 0xFF] ^ (_IDENTITY >> 8)


def _apply(operator: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The GF(2)-linear `operator` applied to every u32 of `values` (also composes operators)."""
    bits = (values[:, None] >> np.arange(32, dtype=np.uint32)) & 1
    return np.bitwise_xor.reduce(np.where(bits == 1, operator, np.uint32(0)), axis=1)


# _POWERS[k] is the map of 2^k zero bytes; enough for any buffer length below 2^64.
_POWERS = [_ONE_ZERO_BYTE]
for _ in range(63):
    _POWERS.append(_apply(_POWERS[-1], _POWERS[-1]))


def _zeros_operator(count: int) -> np.ndarray:
    """The map the register undergoes when `count` zero bytes are fed in."""
    result = _IDENTITY
    for power in _POWERS[:count.bit_length()]:
        if count & 1:
            result = _apply(power, result)
        count >>= 1
    return result


def crc32c(data) -> int:
    """CRC32C of a bytes-like object.

    Feeding bytes into a zero register is linear, so the buffer is cut into 2^k equal lanes, all lanes are
    advanced together one byte column at a time with numpy, and the lane registers are folded pairwise by
    shifting the left one over its partner's length. Zero padding in front of a zero register is a no-op,
    and the standard initial value 0xFFFFFFFF contributes the separate term zeros_operator(n)(0xFFFFFFFF).
    """
    buffer = np.frombuffer(data, dtype=np.uint8)
    n = buffer.size
    lanes = 1 << min(12, max(0, (n // 64).bit_length() - 1))  # ≥ 64 bytes per lane, ≤ 4096 lanes
    lane_length = -(-n // lanes)
    padded = np.zeros(lanes * lane_length, dtype=np.uint8)
    padded[padded.size - n:] = buffer
    columns = np.ascontiguousarray(padded.reshape(lanes, lane_length).T)
    register = np.zeros(lanes, dtype=np.uint32)
    for column in columns:
        register = _TABLE[(register ^ column) & 0xFF] ^ (register >> 8)
    shift = _zeros_operator(lane_length)
    while register.size > 1:
        register = _apply(shift, register[0::2]) ^ register[1::2]
        shift = _apply(shift, shift)
    initial = _apply(_zeros_operator(n), np.array([_MASK], dtype=np.uint32))
    return int(register[0] ^ initial[0]) ^ _MASK


def load(path, verify: bool = True):
    """Reads and validates a checkpoint: returns (header dict, {name: float32 array of its shape}).

    Raises ValueError on any structural problem or checksum mismatch; `verify=False` skips only the
    per-tensor data checksums (the preamble, header and table are always checked).
    """
    with open(path, "rb") as file:
        blob = file.read()

    def fail(message):
        raise ValueError(f"{path}: {message}")

    if not blob.startswith(MAGIC):
        fail("not a Funnel checkpoint (bad magic)")
    if len(blob) < _PREAMBLE.size:
        fail(f"truncated: {len(blob)} bytes, the preamble alone is {_PREAMBLE.size}")
    (_, version, count, header_offset, header_length, table_offset, table_length, data_offset, data_length,
     file_length, header_crc, table_crc, flags, _, _, preamble_crc) = _PREAMBLE.unpack_from(blob)
    if version != VERSION:
        fail(f"unsupported format version {version} (this reader knows {VERSION})")
    if crc32c(blob[:92]) != preamble_crc:
        fail("preamble checksum mismatch")
    if file_length != len(blob):
        fail(f"preamble says {file_length} bytes, the file has {len(blob)}")
    if flags != 0:
        fail(f"unknown flags {flags:#x}")
    # Sections follow each other in order and lie inside the file.
    floor = _PREAMBLE.size
    for name, offset, length in (("header", header_offset, header_length), ("table", table_offset, table_length),
                                 ("data", data_offset, data_length)):
        if offset < floor or offset + length > file_length:
            fail(f"{name} section [{offset}, +{length}) lies outside the file or overlaps the previous one")
        floor = offset + length
    if data_offset % DATA_ALIGNMENT:
        fail("data section is not 64-aligned")

    header_bytes = blob[header_offset:header_offset + header_length]
    if crc32c(header_bytes) != header_crc:
        fail("header checksum mismatch")
    try:
        header = json.loads(header_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        fail(f"header is not UTF-8 JSON: {error}")

    table = blob[table_offset:table_offset + table_length]
    if crc32c(table) != table_crc:
        fail("tensor table checksum mismatch")
    data = memoryview(blob)[data_offset:data_offset + data_length]
    tensors = {}
    cursor = 0
    for index in range(count):
        if cursor + _ENTRY.size > len(table):
            fail(f"tensor table entry {index} runs past the end of the table")
        name_length, dtype, rank, crc, offset, byte_length = _ENTRY.unpack_from(table, cursor)
        cursor += _ENTRY.size
        if rank > MAX_RANK:
            fail(f"tensor table entry {index} has rank {rank} (at most {MAX_RANK})")
        padded_name = -(-name_length // 8) * 8
        if cursor + 8 * rank + padded_name > len(table):
            fail(f"tensor table entry {index} runs past the end of the table")
        shape = struct.unpack_from(f"<{rank}Q", table, cursor)
        cursor += 8 * rank
        try:
            name = table[cursor:cursor + name_length].decode("utf-8")
        except UnicodeDecodeError:
            fail(f"tensor table entry {index} has a name that is not UTF-8")
        cursor += padded_name
        if name in tensors:
            fail(f"duplicate tensor '{name}'")
        if dtype != DTYPE_FLOAT32:
            fail(f"tensor '{name}' has unsupported dtype code {dtype}")
        if byte_length != 4 * int(np.prod(shape, dtype=np.uint64)):
            fail(f"tensor '{name}' has {byte_length} bytes for shape {list(shape)}")
        if offset % DATA_ALIGNMENT:
            fail(f"tensor '{name}' is not 64-aligned in the data section")
        if offset + byte_length > data_length:
            fail(f"tensor '{name}' lies outside the data section")
        raw = data[offset:offset + byte_length]
        if verify and crc32c(raw) != crc:
            fail(f"tensor '{name}' checksum mismatch")
        tensors[name] = np.frombuffer(raw, dtype="<f4").reshape(shape)
    if cursor != len(table):
        fail(f"{len(table) - cursor} unread bytes after the tensor table entries")
    return header, tensors


def main() -> int:
    parser = argparse.ArgumentParser(description="Validate a Funnel checkpoint and print its tensor table.")
    parser.add_argument("path")
    parser.add_argument("--no-verify", action="store_true", help="skip the per-tensor data checksums")
    args = parser.parse_args()
    try:
        header, tensors = load(args.path, verify=not args.no_verify)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    model = header.get("model", {})
    print(f"{args.path}: model {model.get('name', '?')} v{model.get('version', '?')}")
    print(f"network: {json.dumps(header.get('network'), sort_keys=True)}")
    width = max((len(name) for name in tensors), default=4)
    print(f"{'tensor':<{width}}  {'shape':<14} {'elements':>10}")
    for name, array in tensors.items():
        print(f"{name:<{width}}  {str(list(array.shape)):<14} {array.size:>10}")
    total = sum(array.size for array in tensors.values())
    print(f"{len(tensors)} tensors, {total} parameters"
          + ("" if args.no_verify else ", all CRC32C checksums match"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
