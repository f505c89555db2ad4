#!/usr/bin/python3
"""Tests of redis_suite.py's reading of the suite's output, without the suite.

Each case is the text runtest prints (test_helper.tcl's formats: `[ok]: NAME
(N ms)`, `[err]: NAME in tests/UNIT.tcl` then its details, `[exception]:`,
`[TIMEOUT]:` with the clients' state) and what the runner must make of it,
including the tests it never saw: the reference list decides those.
"""

import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import redis_suite as rs  # noqa: E402

UNIT = "unit/type/incr"
HEAD = ["Cleanup: may take some time... OK", "Starting test server at port 21079",
        "[ready]: 4242", "Testing unit/type/incr"]
DONE = ["[1/1 done]: unit/type/incr (1 seconds)", "", "                   The End", ""]


def run(lines, expected, rc=0, timed_out=False):
    parsed = rs.parse_output(lines, UNIT)
    return rs.reconcile(UNIT, parsed, expected, rc, timed_out, 180, 60)


def outcomes(result):
    return [(t["name"], t["outcome"]) for t in result["tests"]]


class ParseAndReconcile(unittest.TestCase):
    def test_all_passed_counts_every_test(self):
        r = run(HEAD + ["[ok]: INCR against non existing key (1 ms)",
                        "[ok]: INCR against key (created by) (0 ms)"] + DONE,
                ["INCR against non existing key", "INCR against key (created by)"])
        self.assertEqual(outcomes(r), [("INCR against non existing key", "passed"),
                                       ("INCR against key (created by)", "passed")])
        self.assertEqual((r["passed"], r["failed"], r["total"], r["ended"]), (2, 0, 2, None))
        self.assertEqual(r["tests"][0]["ms"], 1)

    def test_an_error_keeps_its_lines_and_drops_the_clipped_one(self):
        # --durable cuts 10 characters off a non-assertion error: the
        # errorInfo line after it is the whole message.
        r = run(HEAD + ["[err]: INCRBYFLOAT against non existing key in tests/unit/type/incr.tcl",
                        "n command 'incrbyfloat', with args beginning with: 'novar' '1' ",
                        "ERR unknown command 'incrbyfloat', with args beginning with: 'novar' '1' ",
                        "    while executing",
                        "[ok]: No negative zero (0 ms)"] + DONE,
                ["INCRBYFLOAT against non existing key", "No negative zero"])
        self.assertEqual(outcomes(r), [("INCRBYFLOAT against non existing key", "failed"),
                                       ("No negative zero", "passed")])
        self.assertEqual(r["tests"][0]["error"][0],
                         "ERR unknown command 'incrbyfloat', with args beginning with: 'novar' '1' ")
        self.assertEqual(r["tests"][0]["error"][1], "    while executing")

    def test_an_assertion_keeps_its_message(self):
        r = run(HEAD + ["[err]: INCR fails against a key holding a list in tests/unit/type/incr.tcl",
                        "Expected 'WRONGTYPE*' to match 'ERR*' (context: type eval line 4)"] + DONE,
                ["INCR fails against a key holding a list"])
        self.assertEqual(r["tests"][0]["error"], ["Expected 'WRONGTYPE*' to match 'ERR*' (context: type eval line 4)"])

    def test_a_test_name_with_in_is_cut_at_its_own_file_only(self):
        r = run(HEAD + ["[err]: SET in a loop in tests/unit/type/incr.tcl", "Expected '1' to equal '2'"] + DONE,
                ["SET in a loop"])
        self.assertEqual(outcomes(r), [("SET in a loop", "failed")])

    def test_an_error_outside_tests_is_a_unit_error_and_its_block_is_not_run(self):
        r = run(HEAD + ["[ok]: A (0 ms)",
                        "[err]: n command 'config', with args beginning with: 'get' 'x'",
                        "ERR unknown command 'config', with args beginning with: 'get' 'x'",
                        "    while executing"] + DONE,
                ["A", "B", "C"])
        self.assertEqual(outcomes(r), [("A", "passed"), ("B", "not-run"), ("C", "not-run")])
        self.assertEqual(len(r["unit_errors"]), 1)
        self.assertIn("unknown command 'config'", r["tests"][1]["error"][0])
        self.assertIsNone(r["ended"])

    def test_an_exception_fails_the_next_test_and_every_later_one(self):
        r = run(HEAD + ["[ok]: A (0 ms)",
                        "[exception]: Executing test client: ERR unknown command 'function', "
                        "with args beginning with: 'flush'.",
                        "ERR unknown command 'function', with args beginning with: 'flush'",
                        "    while executing",
                        "Killing still running Redis server 1234"],
                ["A", "B", "C"], rc=1)
        self.assertEqual(outcomes(r), [("A", "passed"), ("B", "exception"), ("C", "not-run")])
        self.assertEqual(r["ended"], "the unit died: ERR unknown command 'function', with args beginning with: 'flush'")
        self.assertEqual(r["tests"][1]["error"][1], "ERR unknown command 'function', with args beginning with: 'flush'")
        self.assertEqual((r["passed"], r["failed"], r["total"]), (1, 2, 3))

    def test_the_suites_timeout_names_the_test_in_progress(self):
        r = run(HEAD + ["[ok]: A (0 ms)", "[TIMEOUT]: clients state report follows.",
                        "sock55d0 => (IN PROGRESS) B", "Killing still running Redis server 99"],
                ["A", "B", "C"], rc=1)
        self.assertEqual(outcomes(r), [("A", "passed"), ("B", "timeout"), ("C", "not-run")])

    def test_the_wall_clock_limit_fails_the_next_test_and_the_rest(self):
        r = run(HEAD + ["[ok]: A (0 ms)"], ["A", "B", "C"], rc=-9, timed_out=True)
        self.assertEqual(outcomes(r), [("A", "passed"), ("B", "timeout"), ("C", "not-run")])
        self.assertIn("180 s", r["ended"])

    def test_output_without_the_done_line_is_a_dead_unit(self):
        r = run(HEAD + ["[ok]: A (0 ms)"], ["A", "B"], rc=1)
        self.assertEqual(outcomes(r), [("A", "passed"), ("B", "exception")])
        self.assertIn("exited 1", r["ended"])

    def test_repeated_names_are_matched_by_count(self):
        r = run(HEAD + ["[ok]: X (0 ms)", "[err]: X in tests/unit/type/incr.tcl", "Expected"] + DONE,
                ["X", "X", "X"])
        self.assertEqual(outcomes(r), [("X", "passed"), ("X", "failed"), ("X", "not-run")])

    def test_skipped_and_ignored_are_listed_not_counted(self):
        r = run(HEAD + ["[skip]: SRANDMEMBER with a dict containing long chain",
                        "[ignore]: MOVE basic usage: Not supported on singledb",
                        "[ignore]: Not supported on external server",
                        "[ok]: A (0 ms)"] + DONE, ["A"])
        self.assertEqual((r["passed"], r["total"], r["skipped"]), (1, 1, 3))

    def test_a_test_the_reference_does_not_know_still_counts(self):
        r = run(HEAD + ["[ok]: A (0 ms)", "[err]: New in tests/unit/type/incr.tcl", "Expected"] + DONE, ["A"])
        self.assertEqual((r["passed"], r["failed"], r["total"]), (1, 1, 2))

    def test_colours_are_not_part_of_names(self):
        self.assertEqual(rs.ANSI.sub("", "[\x1b[0;32;49mok\x1b[0m]: A (1 ms)"), "[ok]: A (1 ms)")


if __name__ == "__main__":
    unittest.main()
