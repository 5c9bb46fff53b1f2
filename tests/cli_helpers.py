"""What the command-line tests share: running ``vaesvm``, its one-line errors, Ctrl-C."""

from vaesvm import cli
from vaesvm.study import experiments


def run(argv):
    """Exit status of ``vaesvm ARGV`` (argparse's exits included)."""
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return exc.code


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("vaesvm: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def interrupt_cell(monkeypatch, n: int) -> None:
    """Press Ctrl-C when the study starts its ``n``-th cell."""
    real, calls = experiments._evaluate, []

    def interrupting(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(experiments, "_evaluate", interrupting)
