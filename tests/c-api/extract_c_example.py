#!/usr/bin/env python3
"""Writes the first ```c block of a Markdown file to a .c file.

    extract_c_example.py docs/client.md out.c
"""
import sys


def main():
    src, out = sys.argv[1], sys.argv[2]
    lines, inside = [], False
    with open(src, encoding="utf-8") as f:
        for line in f:
            if not inside and line.strip() == "```c":
                inside = True
            elif inside and line.strip() == "```":
                break
            elif inside:
                lines.append(line)
    if not lines:
        sys.exit(f"{src}: no ```c block")
    with open(out, "w", encoding="utf-8") as f:
        f.write(f"/* Generated from {src} by extract_c_example.py. */\n")
        f.writelines(lines)


if __name__ == "__main__":
    main()
