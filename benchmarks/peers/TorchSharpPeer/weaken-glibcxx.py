#!/usr/bin/env python3
"""Mark a version requirement weak in a copied ELF shared library, so it loads on an older libstdc++.

TorchSharp 0.107's native shim libLibTorchSharp.so is linked against a libstdc++ that has
GLIBCXX_3.4.32; Debian 12's stops at GLIBCXX_3.4.30, so the dynamic loader refuses the library
("version `GLIBCXX_3.4.32' not found"). The only symbol at that version is
_ZSt21ios_base_library_initv, a marker that GCC 13 emits from <iostream> and that no relocation
uses. Setting VER_FLG_WEAK (0x2) in the vna_flags of that entry of .gnu.version_r turns the
hard error into nothing (ld.so only reports a missing weak version under LD_DEBUG).

Usage: weaken-glibcxx.py LIB [VERSION ...]   (default VERSION: GLIBCXX_3.4.32)

Edits LIB in place, is idempotent, and refuses to touch a file under a NuGet package cache: run
it on the copy in the build output. Prints what it changed.
"""

import struct
import sys

SHT_GNU_VERNEED = 0x6FFFFFFE
VER_FLG_WEAK = 0x2


def weaken(path: str, versions: set[str]) -> int:
    if "/.nuget/packages/" in path.replace("\\", "/"):
        sys.exit(f"weaken-glibcxx: refusing to edit {path}: edit the copy in the build output")
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            sys.exit(f"weaken-glibcxx: {path} is not a 64-bit little-endian ELF file")
        e_shoff = struct.unpack_from("<Q", data, 0x28)[0]
        e_shentsize, e_shnum = struct.unpack_from("<HH", data, 0x3A)
        sections = [
            struct.unpack_from("<IIQQQQIIQQ", data, e_shoff + i * e_shentsize) for i in range(e_shnum)
        ]
        changed = 0
        found = set()
        for sh in sections:
            if sh[1] != SHT_GNU_VERNEED:
                continue
            strtab_off = sections[sh[6]][4]  # sh_link -> .dynstr, its sh_offset

            def name_at(off: int) -> str:
                end = data.index(b"\0", strtab_off + off)
                return data[strtab_off + off : end].decode()

            vn = sh[4]
            for _ in range(sh[8] or 1 << 30):  # sh_info = number of Verneed entries
                _, vn_cnt, vn_file, vn_aux, vn_next = struct.unpack_from("<HHIII", data, vn)
                aux = vn + vn_aux
                for _ in range(vn_cnt):
                    _, flags, _, vna_name, vna_next = struct.unpack_from("<IHHII", data, aux)
                    name = name_at(vna_name)
                    if name in versions:
                        found.add(name)
                        if not flags & VER_FLG_WEAK:
                            struct.pack_into("<H", data, aux + 4, flags | VER_FLG_WEAK)
                            changed += 1
                            print(f"weaken-glibcxx: {path}: {name_at(vn_file)} {name} marked weak")
                        else:
                            print(f"weaken-glibcxx: {path}: {name} already weak")
                    if vna_next == 0:
                        break
                    aux += vna_next
                if vn_next == 0:
                    break
                vn += vn_next
        for name in sorted(versions - found):
            print(f"weaken-glibcxx: {path}: no requirement {name} (nothing to do)")
        if changed:
            f.seek(0)
            f.write(data)
        return changed


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    weaken(sys.argv[1], set(sys.argv[2:]) or {"GLIBCXX_3.4.32"})
