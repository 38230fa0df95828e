"""nbgrader preprocessors the grading pipeline swaps in (see ``worker.autograde_config``).

* :class:`ResilientExecute` is nbgrader's ``Execute`` that survives what students send: when a
  cell runs past ``Execute.timeout`` (an endless loop, even one that ignores interrupts) or kills
  the kernel (``os._exit``, ``os.kill(os.getpid(), 9)``, running out of memory), that cell gets an
  error output, the kernel is restarted, the cells above it are re-run quietly to rebuild the
  state, and grading goes on with the next cell. Stock nbgrader drops the whole notebook instead.
  It also caps a cell's stream output while it runs, so output flooding cannot fill memory.
* :class:`FeedbackSanitizer` runs in ``generate_feedback``: test cells show only their visible
  part (hidden test regions removed) and their errors only the last line, so neither a test's
  source nor a traceback through a hidden test reaches a student.
"""

from __future__ import annotations

import copy
import re
import typing as t

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbconvert.preprocessors.execute import NotebookClient
from nbformat import NotebookNode
from traitlets import Integer, Unicode

from nbgrader import utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor

TIMEOUT_ENAME = "CellTimeoutError"
DEAD_ENAME = "DeadKernelError"
NOT_RUN_ENAME = "CellNotRunError"


def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


class _Stuck(Exception):
    """A cell needed a fresh kernel (timed out or killed it)."""

    def __init__(self, ename: str, evalue: str):
        super().__init__(evalue)
        self.ename, self.evalue = ename, evalue


class ResilientExecute(Execute):
    """nbgrader's ``Execute``, restarting the kernel after a cell that hangs or kills it."""

    max_restarts = Integer(3, help="Kernel restarts per notebook before the rest is marked "
                                   "not run.").tag(config=True)
    max_stream_chars = Integer(1_000_000, help="Stream output kept per cell while it runs "
                                               "(LimitOutput trims it further).").tag(config=True)
    shutdown_kernel = Unicode("immediate")  # a stuck kernel must not delay the next one

    # ------------------------------------------------------------------ execution
    def preprocess(self, nb: NotebookNode, resources: t.Any = None, km=None):
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        cells = self.nb.cells
        start, skipped, restarts = 0, set(), 0
        while True:
            failed = None
            with self.setup_kernel():
                info = self.wait_for_reply(self.kc.kernel_info())
                if info:
                    self.nb.metadata["language_info"] = info["content"]["language_info"]
                replay_failed = self._replay(cells[:start], skipped)
                if replay_failed is not None:
                    self._mark_not_run(cells[start:], "the kernel could not be rebuilt after a "
                                       f"restart (cell {replay_failed} failed again)")
                    break
                for index in range(start, len(cells)):
                    try:
                        self._run_cell(cells[index], resources, index)
                    except _Stuck as stuck:
                        cells[index].outputs.append(error_output(stuck.ename, stuck.evalue))
                        failed = index
                        break
            if failed is None:
                break
            skipped.add(failed)
            start, restarts = failed + 1, restarts + 1
            if start >= len(cells):
                break
            if restarts > self.max_restarts:
                self._mark_not_run(cells[start:], f"the kernel was restarted {self.max_restarts} "
                                   "times already")
                break
        self.set_widgets_metadata()
        return self.nb, self.resources

    def _run_cell(self, cell: NotebookNode, resources: t.Any, index: int) -> None:
        try:
            self.preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            raise _Stuck(TIMEOUT_ENAME, f"this cell ran longer than {self.timeout} s and was "
                         "stopped; grading restarted the kernel, re-ran the cells above and went "
                         "on with the next cell") from None
        except DeadKernelError:
            raise _Stuck(DEAD_ENAME, "the kernel died while running this cell (os._exit, a "
                         "signal, or out of memory); grading restarted the kernel, re-ran the "
                         "cells above and went on with the next cell") from None

    def _replay(self, cells: list[NotebookNode], skipped: set[int]) -> int | None:
        """Re-run ``cells`` on copies (outputs discarded); the index of one that fails again."""
        for index, cell in enumerate(cells):
            if index in skipped or cell.cell_type != "code":
                continue
            try:
                self.execute_cell(copy.deepcopy(cell), index, store_history=False)
            except (CellTimeoutError, DeadKernelError):
                return index
        return None

    @staticmethod
    def _mark_not_run(cells: list[NotebookNode], why: str) -> None:
        # A grade cell without an error output would score full points: never leave one bare.
        for cell in cells:
            if cell.cell_type == "code" and cell.source.strip():
                cell.outputs = [error_output(NOT_RUN_ENAME, f"not run: {why}")]

    async def _async_handle_timeout(self, timeout: int, cell: NotebookNode | None = None):
        # Always raise (stock nbclient interrupts and moves on, leaving a kernel that may still
        # be looping); ResilientExecute then restarts the kernel.
        if cell is None:
            raise TimeoutError(f"no reply from the kernel within {timeout} s")
        raise CellTimeoutError.error_from_timeout_and_cell("Cell execution timed out", timeout,
                                                           cell)

    # ------------------------------------------------------------------ output flooding
    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] == "stream":
            used = sum(len(o.get("text", "")) for o in outs if o.get("output_type") == "stream")
            if used > self.max_stream_chars:
                name = msg["content"].get("name")
                if name != "stderr" or any(o.get("name") == "stderr" for o in outs):
                    return None  # dropped; one stderr output is kept (it zeroes a test cell)
                msg = copy.deepcopy(msg)
                msg["content"]["text"] = msg["content"].get("text", "")[:200]
        return super().output(outs, msg, display_id, cell_index)


HIDDEN_RE = re.compile(r"^[^\n]*BEGIN HIDDEN TESTS.*?END HIDDEN TESTS[^\n]*\n?", re.S | re.M)


class FeedbackSanitizer(NbGraderPreprocessor):
    """Feedback shows each test cell's visible part and only the last line of its errors."""

    def preprocess_cell(self, cell: NotebookNode, resources: t.Any, cell_index: int):
        if utils.is_grade(cell) and not utils.is_solution(cell):
            cell.source = HIDDEN_RE.sub("", cell.source).rstrip("\n")
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
        return cell, resources
