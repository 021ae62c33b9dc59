"""Our core against unicorn on random RV32IM programs: all registers, pc and data must match.

Bulk runs use the seeded generator (fast; a failure is shrunk by dropping items
and reported with its seed and listing); a hypothesis test draws programs from
the same generator so that hypothesis can shrink its choices. The long run
(`-m long`) covers 200 000 more programs; the memcheck run repeats a batch in a
subprocess under valgrind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import rvgen
from engines import CoreEngine, UnicornEngine, shrink
from hypothesis import given, settings
from hypothesis import strategies as st

HERE = Path(__file__).resolve().parent
CHUNK = 500
BULK_CHUNKS = 20  # 10 000 programs in the default run
LONG_CHUNKS = 100
LONG_CHUNK = 2_000  # 200 000 programs with -m long
LONG_SEED_BASE = 1_000_000
MEMCHECK_PROGRAMS = 300


@pytest.fixture(scope="module")
def pair() -> tuple[CoreEngine, UnicornEngine]:
    return CoreEngine(), UnicornEngine()


def _compare(program: rvgen.Program, pair: tuple[CoreEngine, UnicornEngine]) -> None:
    ours, ref = pair
    expected = ref.run(program)
    assert expected.pc == program.end, f"generator bug: program does not reach its end\n{program.listing()}"
    diff = ours.run(program).diff(expected)
    if diff:
        small = shrink(program, ours, ref)
        small_diff = ours.run(small).diff(ref.run(small))
        first = diff.splitlines()[0]
        pytest.fail(f"core != unicorn (core value first):\n{small_diff}\n{small.listing()}\n"
                    f"(full program: {len(program.insns)} instructions; first difference {first})")


def _check_seeds(seeds: range, pair: tuple[CoreEngine, UnicornEngine]) -> None:
    for seed in seeds:
        _compare(rvgen.from_seed(seed), pair)


@pytest.mark.parametrize("chunk", range(BULK_CHUNKS))
def test_random_programs_match_unicorn(chunk: int, pair: tuple[CoreEngine, UnicornEngine]) -> None:
    _check_seeds(range(chunk * CHUNK, (chunk + 1) * CHUNK), pair)


@pytest.mark.long
@pytest.mark.parametrize("chunk", range(LONG_CHUNKS))
def test_many_random_programs_match_unicorn(chunk: int, pair: tuple[CoreEngine, UnicornEngine]) -> None:
    start = LONG_SEED_BASE + chunk * LONG_CHUNK
    _check_seeds(range(start, start + LONG_CHUNK), pair)


WORDS = st.one_of(st.sampled_from(rvgen.EDGE_WORDS), st.integers(0, 0xFFFFFFFF))


@settings(max_examples=200)
@given(regs=st.lists(WORDS, min_size=31, max_size=31), data_seed=st.integers(0, 0xFFFFFFFF),
       item_seeds=st.lists(st.integers(0, 0xFFFFFFFF), min_size=1, max_size=rvgen.MAX_ITEMS))
def test_hypothesis_programs_match_unicorn(pair: tuple[CoreEngine, UnicornEngine], regs: list[int],
                                           data_seed: int, item_seeds: list[int]) -> None:
    _compare(rvgen.from_parts(regs, data_seed, item_seeds), pair)


def test_generator_covers_the_instruction_mix() -> None:
    """The bulk programs exercise every RV32IM op we claim, x0 writes and loops."""
    seen: set[str] = set()
    x0_writes = loops = 0
    for seed in range(300):
        for key, values in rvgen.from_seed(seed).insns:
            seen.add(key)
            x0_writes += values.get("rd", -1) == 0
            loops += key == "bne" and values["rs1"] == rvgen.COUNTER_REG and values["imm_b"] < 0
    wanted = {*rvgen.ALU_RR, *rvgen.ALU_RI, *rvgen.SHIFT_I, *rvgen.BRANCHES, *rvgen.LOADS, *rvgen.STORES,
              "lui", "auipc", "jal", "jalr"}
    assert wanted <= seen, sorted(wanted - seen)
    assert x0_writes > 100 and loops > 50


def _edge_program() -> rvgen.Program:
    """Division, remainder, high multiplies and register shifts at the spec's corner cases."""
    regs = [0] * 32
    regs[1], regs[2], regs[3], regs[4], regs[5] = 0x80000000, 0xFFFFFFFF, 0, 0x7FFFFFFF, 0xFFFFFFE1
    regs[rvgen.BASE_REG] = rvgen.BASE_VALUE
    ops = [("div", 6, 1, 2), ("rem", 7, 1, 2), ("div", 8, 4, 3), ("divu", 9, 4, 3), ("rem", 10, 1, 3),
           ("remu", 11, 4, 3), ("mulh", 12, 1, 1), ("mulhsu", 13, 2, 2), ("mulhu", 14, 2, 2),
           ("sra", 15, 1, 5), ("srl", 16, 1, 2), ("sll", 17, 2, 5), ("add", 0, 4, 4), ("mul", 18, 1, 2)]
    items = [[(key, {"rd": rd, "rs1": a, "rs2": b})] for key, rd, a, b in ops]
    return rvgen.Program(items, regs, bytes(rvgen.DATA_SIZE))


def test_edge_operands_give_the_spec_values(pair: tuple[CoreEngine, UnicornEngine]) -> None:
    ours, ref = pair
    program = _edge_program()
    state = ours.run(program)
    assert state == ref.run(program)
    assert state.regs[6:19] == (
        0x80000000,  # INT_MIN / -1 = INT_MIN
        0,  # INT_MIN % -1 = 0
        0xFFFFFFFF,  # x / 0 = -1
        0xFFFFFFFF,  # x /u 0 = 2^32 - 1
        0x80000000,  # x % 0 = x
        0x7FFFFFFF,  # x %u 0 = x
        0x40000000,  # INT_MIN * INT_MIN >> 32
        0xFFFFFFFF,  # -1 * (2^32 - 1) >> 32, signed by unsigned
        0xFFFFFFFE,  # (2^32 - 1)^2 >> 32
        0xC0000000,  # INT_MIN >> (0xffffffe1 & 31 = 1), arithmetic
        0x00000001,  # INT_MIN >>u (-1 & 31 = 31)
        0xFFFFFFFE,  # -1 << (0xffffffe1 & 31 = 1)
        0x80000000,  # INT_MIN * -1 (low word)
    )
    assert state.regs[0] == 0


_MEMCHECK_SCRIPT = """
import json, sys
import rvgen
from engines import CoreEngine
core = CoreEngine()
print(json.dumps([core.run(rvgen.from_seed(s)).digest() for s in range(int(sys.argv[1]))]))
"""
CORE_SOURCES = {p.name for p in (HERE.parents[2] / "isa" / "core").glob("*.[ch]")}


def _errors_in_core(xml_path: Path) -> list[str]:
    """Valgrind errors with a frame in the core's C code (its shared object or its sources).

    CPython itself is not valgrind-clean (its small-int and gc paths report
    uninitialised reads even for `python -c "import json"`), so errors whose
    whole stack lies outside the core are interpreter noise and are not counted.
    """
    found = []
    for error in ET.parse(xml_path).getroot().iter("error"):
        if (error.findtext("kind") or "").startswith("Leak_"):
            continue  # cffi's one-time module set-up; leaks are not what this run checks
        frames = error.findall("./stack/frame")
        ours = [f for f in frames
                if "isa/core/_core" in (f.findtext("obj") or "") or f.findtext("file") in CORE_SOURCES]
        if ours:
            where = ", ".join(f"{f.findtext('fn')} ({f.findtext('file')}:{f.findtext('line')})" for f in ours)
            found.append(f"{error.findtext('kind')}: {error.findtext('what')}: {where}")
    return found


@pytest.mark.memcheck
@pytest.mark.long
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_differential_batch_is_clean_under_valgrind(tmp_path: Path) -> None:
    # PYTHONMALLOC=malloc lets valgrind see every allocation; the package comes from its install.
    env = dict(os.environ, PYTHONMALLOC="malloc", PYTHONPATH=str(HERE))
    xml = tmp_path / "valgrind.xml"
    cmd = ["valgrind", "--xml=yes", f"--xml-file={xml}", "--leak-check=no",
           sys.executable, "-c", _MEMCHECK_SCRIPT, str(MEMCHECK_PROGRAMS)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=HERE, timeout=1800, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    assert _errors_in_core(xml) == []
    ref = UnicornEngine()
    expected = [ref.run(rvgen.from_seed(s)).digest() for s in range(MEMCHECK_PROGRAMS)]
    assert json.loads(done.stdout) == expected
