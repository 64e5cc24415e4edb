"""Builder of LuatOS upgrade .bin files (the vendor's 92-byte header format)
for the integration tests, written from the format description only.

Layout (little-endian): u32 magic, u32 crc, u32 main_version[5],
u32 app_version, u32 std_version[5], u32 common_len, u32 sdk_len,
u8 common_md5[16], u8 sdk_md5[16]; then CommonData, then SDKData.
The header CRC is CRC-32 (zip polynomial) of bytes 8..91 with initial value
0xFFFFFFFF and no final XOR, i.e. zlib.crc32(h[8:92]) ^ 0xFFFFFFFF.
A core version is stated in word 4 of a 5-word version field (words 0..3 are
an MD5 slot in the vendor's tool); all zero means "not stated".
"""
import hashlib
import struct
import zlib

MAGIC_EC7XX = 0xEAC37218   # Air780EH*/Air8000
MAGIC_OLD = 0xEAF18C16     # older Air780E script packages
HEADER_LEN = 92


def header_crc(h):
    return zlib.crc32(bytes(h[8:92])) ^ 0xFFFFFFFF


def version_words(core):
    return [0, 0, 0, 0, core or 0]


def build(common, sdk=b"", magic=MAGIC_EC7XX, main_core=0, std_core=0,
          app_version=0, sdk_md5_override=None, common_md5_override=None,
          common_len=None, sdk_len=None, crc_override=None):
    """Returns the bytes of a package. The *_override and *_len arguments
    make deliberately broken variants."""
    if sdk:
        sdk_md5 = hashlib.md5(sdk).digest()
    else:
        sdk_md5 = bytes(16)  # all zero when there is no core part
    if sdk_md5_override is not None:
        sdk_md5 = sdk_md5_override
    common_md5 = hashlib.md5(common).digest()
    if common_md5_override is not None:
        common_md5 = common_md5_override
    h = bytearray(HEADER_LEN)
    struct.pack_into("<I", h, 0, magic)
    struct.pack_into("<5I", h, 8, *version_words(main_core))
    struct.pack_into("<I", h, 28, app_version)
    struct.pack_into("<5I", h, 32, *version_words(std_core))
    struct.pack_into("<I", h, 52, len(common) if common_len is None else common_len)
    struct.pack_into("<I", h, 56, len(sdk) if sdk_len is None else sdk_len)
    h[60:76] = common_md5
    h[76:92] = sdk_md5
    crc = header_crc(h) if crc_override is None else crc_override
    struct.pack_into("<I", h, 4, crc)
    return bytes(h) + common + sdk


def refresh_crc(data):
    """Recomputes the header CRC of an edited package."""
    h = bytearray(data[:HEADER_LEN])
    struct.pack_into("<I", h, 4, header_crc(h))
    return bytes(h) + data[HEADER_LEN:]


def script_image(size, seed=1):
    """Deterministic pseudo-random bytes standing in for a script image."""
    out = bytearray()
    x = seed & 0xFFFFFFFF or 1
    while len(out) < size:
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out += struct.pack("<I", x)
    return bytes(out[:size])
