"""The elements of a part's structure tree made what a reader expects: spans that say nothing
folded into their parents, and a table, list, paragraph or section that the typesetting split over
a page made one element again."""
from __future__ import annotations

import pikepdf
from pikepdf import Array, Dictionary, Name

from .tree import children, redirect


_PLAIN = {"/Type", "/S", "/P", "/K", "/Pg"}  # a span with no more than these says nothing of its own


def flatten(root, seams: dict | None) -> None:
    """Spans that say nothing (no language, no replacement text) folded into their parents, their
    content with them: WeasyPrint tags each piece of text a span, each leader dot of the contents
    too, and the book's tree would be twice the size for nothing a reader hears. The parent tree
    follows: a page's marked content belongs to the element it is now in."""
    moved: dict = {}  # a folded span's objgen -> the element its content went to
    done: set = set()

    def visit(node) -> None:
        if node.is_indirect:
            if node.objgen in done:
                return
            done.add(node.objgen)
        folded, changed = [], False
        for kid in children(node):
            if isinstance(kid, Dictionary) and "/S" in kid:
                visit(kid)
                content = children(kid)
                if (kid.S == Name.Span and set(kid.keys()) <= _PLAIN and kid.is_indirect
                        and all(isinstance(item, int) or (isinstance(item, Dictionary) and item.get("/Type") == Name.MCR)
                                for item in content)):
                    same = "/Pg" in node and "/Pg" in kid and node.Pg.objgen == kid.Pg.objgen
                    folded += [item if not isinstance(item, int) or same else Dictionary(Type=Name.MCR, Pg=kid.Pg, MCID=item)
                               for item in content]
                    moved[kid.objgen] = node
                    changed = True
                    continue
            folded.append(kid)
        joined = _join_tables(folded, moved, node.get("/S") == Name.Document, seams)
        if changed or len(joined) < len(folded):
            node.K = Array(joined)

    for top in children(root):
        if isinstance(top, Dictionary):
            visit(top)
    redirect(root, moved)


# What WeasyPrint makes of each element a page break can split: a list item is an LI holding an LBody.
ROLES = {"p": [Name.P], "section": [Name.Sect], "div": [Name.Div], "blockquote": [Name.BlockQuote], "ul": [Name.L],
         "ol": [Name.L], "dl": [Name.L], "li": [Name.LI, Name.LBody], "dt": [Name.LI, Name.LBody], "dd": [Name.LI, Name.LBody],
         "main": [Name.Part], "article": [Name.Art], "table": [Name.Table], "tbody": [Name.TBody], "thead": [Name.THead],
         "tfoot": [Name.TFoot]}


def _join_tables(kids: list, moved: dict, top: bool, seams: dict | None) -> list:
    """What a page break split, one element again, as the layout says (``seams``): a section,
    list, item or paragraph goes into the element before it, its own parts then joined in turn;
    a table's rows go into the table before it, and its header, repeated at the top of the page,
    is left out of the tree (the page's furniture, made an artifact with the rest), its cells'
    /Headers naming the first part's header cells instead. Only the first element of a page can
    go on from the page before; notes read after their paragraph, and at the top of a part the
    pages' running heads (NonStruct), stand between the two parts."""
    out: list = []
    pages: set = set()  # the pages met so far in ``kids``
    for kid in kids:
        skipped = (Name.Note, Name.NonStruct) if top and not (isinstance(kid, Dictionary) and kid.get("/S") == Name.NonStruct) else (Name.Note,)
        before = next((k for k in reversed(out) if not (isinstance(k, Dictionary) and k.get("/S") in skipped)), None)
        page = kid.Pg.objgen if isinstance(kid, Dictionary) and "/Pg" in kid else None
        first = page not in pages
        pages.add(page)
        if first and _continues(before, kid, seams):
            moved[kid.objgen] = before  # the parent tree's entries for the continuation's own content
            if kid.S == Name.Table:
                _join_rows(before, kid)
            else:
                merged = children(before)
                for part in children(kid):
                    if isinstance(part, int):  # content of the continuation's page: said so
                        part = Dictionary(Type=Name.MCR, Pg=kid.Pg, MCID=part)
                    elif isinstance(part, Dictionary) and "/S" in part:
                        part.P = before
                    merged.append(part)
                before.K = Array(_join_tables(merged, moved, False, seams))
            continue
        out.append(kid)
    return out


def _continues(before, kid, seams: dict | None) -> bool:
    """Whether ``kid`` is the part of ``before`` that went over to the next page, as the layout
    says (``seams``: per page, how many elements of each role went over to it; each join takes
    one, so that an item of a nested list at the top of a page is not joined to the one before it
    when only the outer item went over). Where the layout says nothing (None), nothing is joined."""
    if seams is None or not (isinstance(kid, Dictionary) and isinstance(before, Dictionary) and kid.get("/S") == before.get("/S")
                             and "/Pg" in kid and "/Pg" in before and kid.Pg.objgen != before.Pg.objgen and kid.is_indirect):
        return False
    left = seams.get(kid.Pg.objgen, {})  # (a table: one with a body for the rows)
    if left.get(kid.S, 0) < 1 or (kid.S == Name.Table and "/TBody" not in _parts(before)):
        return False
    left[kid.S] -= 1
    return True


def _parts(table) -> list[str]:
    return [str(part.get("/S")) for part in children(table) if isinstance(part, Dictionary)]


def _header_ids(table) -> list[list[str]]:
    return [[str(cell.get("/ID", "")) for cell in children(row) if isinstance(cell, Dictionary)]
            for part in children(table) if isinstance(part, Dictionary) and part.get("/S") == Name.THead
            for row in children(part) if isinstance(row, Dictionary)]


def _join_rows(before, kid) -> None:
    body = [part for part in children(before) if isinstance(part, Dictionary) and part.get("/S") == Name.TBody][-1]
    rename = {old: new for olds, news in zip(_header_ids(kid), _header_ids(before)) for old, new in zip(olds, news) if old}
    for part in children(kid):
        if isinstance(part, Dictionary) and part.get("/S") == Name.TBody:
            rows = children(part)
            for row in rows:
                if isinstance(row, Dictionary):
                    row.P = body
                    _rename_headers(row, rename)
            body.K = Array([*children(body), *rows])


def _rename_headers(row, rename: dict[str, str]) -> None:
    """The cells' /Headers that named the dropped repeated header's cells name the first part's."""
    for cell in children(row):
        attributes = cell.get("/A") if isinstance(cell, Dictionary) else None
        if isinstance(attributes, Dictionary) and "/Headers" in attributes:
            attributes.Headers = Array([pikepdf.String(rename.get(str(h), str(h))) for h in attributes.Headers])
