"""The epoch table carries no terminal colour codes into logs (issue 22)."""

import io
import sys

from conftest import make_blob_images

from skcxr import CXRClassifier
from skcxr.classifier._callbacks import TerminalPrintLog

BEST = {"valid_loss": 0.25, "valid_loss_best": True}


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_fit_log_has_no_ansi_codes_when_stdout_is_not_a_terminal(capsys):
    X, y, groups = make_blob_images(n=24, size=32)
    CXRClassifier("tiny", max_epochs=2, batch_size=8, verbose=1, random_state=0).fit(
        X, y, groups=groups)
    out = capsys.readouterr().out
    assert "valid_loss" in out and "\x1b[" not in out


def test_colour_is_kept_on_a_terminal_unless_no_color(monkeypatch):
    log = TerminalPrintLog().initialize()
    monkeypatch.setattr(sys, "stdout", _Terminal())
    assert log.format_row(BEST, "valid_loss", color="\x1b[36m") == "\x1b[36m0.2500\x1b[0m"
    monkeypatch.setenv("NO_COLOR", "1")
    assert log.format_row(BEST, "valid_loss", color="\x1b[36m") == "0.2500"


def test_a_sink_other_than_print_gets_no_colour(monkeypatch):
    monkeypatch.setattr(sys, "stdout", _Terminal())
    log = TerminalPrintLog(sink=lambda text: None).initialize()
    assert log.format_row(BEST, "valid_loss", color="\x1b[36m") == "0.2500"
