"""The shell's colours, and when there are none (not a terminal, or NO_COLOR set)."""

from __future__ import annotations

import os
import sys
from typing import TextIO

from prompt_toolkit.output import ColorDepth
from prompt_toolkit.styles import Style

STYLE = Style.from_dict({
    "prompt": "bold",
    "bottom-toolbar": "noreverse bg:#303030 #d0d0d0",
    "bottom-toolbar.state": "bold #ffffff bg:#005f87",
    "bottom-toolbar.stopped": "bold #000000 bg:#ffaf00",
    "bottom-toolbar.pc": "#87d7ff bg:#303030",
    "bottom-toolbar.dim": "#8a8a8a bg:#303030",
    "bottom-toolbar.trace": "bold #d7ff87 bg:#303030",
    "completion-menu.completion": "bg:#3a3a3a #e4e4e4",
    "completion-menu.completion.current": "bg:#005f87 #ffffff",
})


def color_depth(stream: TextIO | None = None) -> ColorDepth:
    """Full colour on a terminal; plain text (one bit) elsewhere or when NO_COLOR asks for it."""
    stream = stream if stream is not None else sys.stdout
    isatty = getattr(stream, "isatty", None)
    if os.environ.get("NO_COLOR") or not (isatty and isatty()):
        return ColorDepth.DEPTH_1_BIT
    return ColorDepth.DEPTH_8_BIT
