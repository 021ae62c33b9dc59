"""Scripts and help: source, python, check, echo, help."""

from __future__ import annotations

from debugger.commands import CATEGORIES, COMMANDS, Expr, Text, command, load_all, lookup, parser
from debugger.errors import CheckFailed, DebuggerError

_source = parser("source", "Run the commands in FILE (a failing line is reported as FILE:LINE).")
_source.add_argument("file", help="command file")


@command("source", _source, category="support")
def source(session, args) -> None:
    session.source(args.file)


_python = parser("python", "Run Python with the session bound to `session` (and `s`).\n"
                 "`python CODE` runs one line; `python` alone reads a block up to `end`.")


@command("python", _python, category="support", aliases=("py",), raw=True)
def python(session, args) -> None:
    code = args.text if args.text.strip() else "\n".join(session.read_block(">", "end"))
    env = {"session": session, "s": session, "out": session.out}
    try:
        exec(compile(code, "<python>", "exec"), env)
    except DebuggerError:
        raise
    except Exception as exc:
        raise DebuggerError(f"python: {type(exc).__name__}: {exc}") from None


_check = parser("check", "Fail the script unless EXPR is non-zero (batch mode exits non-zero).")
_check.add_argument("expr", type=Text, nargs="+", help="expression that must be true")


@command("check", _check, category="support", aliases=("assert",))
def check(session, args) -> None:
    if not session.eval(args.expr):
        raise CheckFailed(f"check failed: {args.expr}")


_echo = parser("echo", "Print TEXT (C escapes such as \\n are understood; no newline is added).")


@command("echo", _echo, category="support", raw=True)
def echo(session, args) -> None:
    text = args.text.replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")
    session.out.write(text)


_help = parser("help", "List command classes, the commands of a class, or describe one command.")
_help.add_argument("topic", nargs="*", help="a command or a class name")


@command("help", _help, category="support", aliases=("h",))
def help_(session, args) -> None:
    load_all()
    out = session.out
    topic = " ".join(args.topic)
    if not topic:
        out.line("List of classes of commands:\n")
        for name, text in CATEGORIES.items():
            if any(c.category == name for c in COMMANDS.values()):
                out.line(f"{name} -- {text}")
        out.line('\nType "help" followed by a class name for a list of commands in that class.')
        out.line('Type "help" followed by a command name for full documentation.')
        return
    if topic in CATEGORIES:
        out.line(f"{CATEGORIES[topic]}.\n")
        for cmd in sorted((c for c in COMMANDS.values() if c.category == topic), key=lambda c: c.name):
            out.line(f"{cmd.name} -- {cmd.summary}")
        return
    cmd, _, _ = lookup(topic)
    out.line(cmd.help())


_show_expr = parser("output", "Print the value of EXPR without a newline or history entry (gdb's output).")
_show_expr.add_argument("expr", type=Expr, nargs="+", help="expression")


@command("output", _show_expr, category="support")
def output(session, args) -> None:
    session.out.write(str(args.expr))
