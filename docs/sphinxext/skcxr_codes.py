"""``.. skcxr-refusal-codes::``: the table of refusal codes, from ``skcxr.guard`` itself.

The docs never retype the codes: a code added to the library appears here at
the next build.
"""

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


class RefusalCodes(SphinxDirective):
    has_content = False

    def run(self):
        from skcxr.guard import REFUSAL_CODES, Refusal

        lines = [".. list-table::", "   :header-rows: 1", "   :widths: 18 12 70", "",
                 "   * - code", "     - status", "     - meaning"]
        for code, meaning in REFUSAL_CODES.items():  # the guard's refusals first, then errors
            status = Refusal(code, "").status
            lines += [f"   * - ``{code}``", f"     - {status}", f"     - {meaning}"]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="skcxr.guard"), self.content_offset,
                                container)
        return container.children


def setup(app):
    app.add_directive("skcxr-refusal-codes", RefusalCodes)
    return {"parallel_read_safe": True}
