"""Notes and links in a part's structure tree: each note a Note element read after the paragraph
that calls it, the call a Reference; each link one Link element, whatever pieces WeasyPrint drew it in."""
from __future__ import annotations

import pikepdf
from pikepdf import Array, Dictionary, Name

from .tree import children, elements, redirect


def notes(root, continued: list[bool] | None) -> None:
    """The notes made /Note elements (each with an id, as PDF/UA asks; its number a /Lbl), the
    rest of a note split over a page joined to it, and each read right after the paragraph that
    calls it (a call in a table cell, a caption or a list item: at the end of it), the call a
    /Reference. WeasyPrint tags a page's notes area as a NonStruct of the part's Document holding
    a Span a note, in the order of the part's notes; ``continued`` says per note whether it is
    the rest of the one before (None: none is). Where the notes, their rests and their calls do
    not add up, nothing is changed."""
    documents = [kid for kid in children(root) if isinstance(kid, Dictionary) and kid.get("/S") == Name.Document]
    areas = [kid for document in documents for kid in children(document)
             if isinstance(kid, Dictionary) and kid.get("/S") == Name.NonStruct and children(kid)
             and all(isinstance(item, Dictionary) and item.get("/S") == Name.Span for item in children(kid))]
    spans = [(area, span) for area in areas for span in children(area)]
    continued = [False] * len(spans) if continued is None else continued
    calls = _calls(documents)
    if len(spans) != len(continued) or (continued and continued[0]) or len(calls) != continued.count(False):
        return
    moved, found, note = {}, [], None
    for (area, span), rest in zip(spans, continued):
        if rest:
            items = [Dictionary(Type=Name.MCR, Pg=span.Pg, MCID=item) if isinstance(item, int) else item for item in children(span)]
            for item in items:
                if isinstance(item, Dictionary) and "/S" in item:
                    item.P = note
            note.K = Array([*children(note), *items])
            moved[span.objgen] = note
            area.K = Array([kid for kid in children(area) if not (isinstance(kid, Dictionary) and kid.objgen == span.objgen)])
        else:
            note = span
            found.append(span)
            span.S, span.ID = Name.Note, pikepdf.String(f"note-{len(found)}")
            marker = next(iter(children(span)), None)  # the note's number (its ::footnote-marker)
            if isinstance(marker, Dictionary) and marker.get("/S") == Name.NonStruct:
                marker.S = Name.Lbl
    redirect(root, moved)
    for (parent, call), note in zip(calls, found):
        call.S = Name.Reference
        _place(note, call)
    for parent, _ in calls:  # the anchors, and the empty calls of notes' rests, dropped
        parent.K = Array([kid for kid in children(parent) if not _empty(kid)])
    emptied = {area.objgen for area in areas}
    for document in documents:  # the notes areas, emptied
        document.K = Array([kid for kid in children(document)
                            if not (isinstance(kid, Dictionary) and kid.objgen in emptied and not children(kid))])


def links(root, part: pikepdf.Pdf) -> None:
    """One Link element a link: WeasyPrint writes a link annotation for each piece of a link's
    text (each leader dot of the contents too) and makes each piece, and the link's generated
    content (``a::after``), an element referring to its annotation. The references are gathered
    into the outermost Link, the inner Links made plain spans, and each annotation's parent-tree
    entry made that Link."""
    owner: dict = {}  # annotation objgen -> its Link
    moved: dict = {}  # a piece of a link joined to the one before -> that one

    def gather(node, link, found: list) -> None:
        """``node``'s references to annotations, below the Link ``link``, moved to ``found``."""
        kids, kept = children(node), []
        for kid in kids:
            if isinstance(kid, Dictionary) and kid.get("/Type") == Name.OBJR and link is not None and node.objgen != link.objgen:
                found.append(kid)
                continue
            kept.append(kid)
            if isinstance(kid, Dictionary) and "/S" in kid:
                if kid.S == Name.Link and link is None:
                    own: list = []
                    gather(kid, kid, own)
                    kid.K = Array([*children(kid), *own])
                    for objr in children(kid):
                        if isinstance(objr, Dictionary) and objr.get("/Type") == Name.OBJR:
                            owner[objr.Obj.objgen] = kid
                    continue
                if kid.S == Name.Link:
                    kid.S = Name.Span
                gather(kid, link, found)
        if len(kept) < len(kids):
            node.K = Array(kept)

    for document in children(root):
        if isinstance(document, Dictionary):
            gather(document, None, [])
    targets = {annot.objgen: _target(annot) for page in part.pages for annot in page.obj.get("/Annots", Array())}
    for node in elements(Array(list(children(root)))):  # a link broken over lines: its pieces one Link
        kids, kept = children(node), []
        for kid in kids:
            before = kept[-1] if kept else None
            if (isinstance(kid, Dictionary) and kid.get("/S") == Name.Link and isinstance(before, Dictionary)
                    and before.get("/S") == Name.Link and _link_target(before, targets) == _link_target(kid, targets) is not None):
                items = [Dictionary(Type=Name.MCR, Pg=kid.Pg, MCID=item) if isinstance(item, int) else item for item in children(kid)]
                for item in items:
                    if isinstance(item, Dictionary) and "/S" in item:
                        item.P = before
                    if isinstance(item, Dictionary) and item.get("/Type") == Name.OBJR:
                        owner[item.Obj.objgen] = before
                before.K = Array([*children(before), *items])
                moved[kid.objgen] = before
                continue
            kept.append(kid)
        if len(kept) < len(kids):
            node.K = Array(kept)
    redirect(root, moved)
    numbers = root.ParentTree.get("/Nums", Array())
    keys = {int(numbers[i]): i + 1 for i in range(0, len(numbers), 2)}
    for page in part.pages:
        for annot in page.obj.get("/Annots", Array()):
            if annot.objgen in owner and "/StructParent" in annot and int(annot.StructParent) in keys:
                numbers[keys[int(annot.StructParent)]] = owner[annot.objgen]


def _target(annot) -> str | None:
    """Where a link annotation goes (its URI or destination), as text to compare."""
    action = annot.get("/A")
    if isinstance(action, Dictionary) and "/URI" in action:
        return "uri:" + str(action.URI)
    return None if annot.get("/Dest") is None else "dest:" + repr(annot.Dest)


def _link_target(link, targets: dict) -> str | None:
    """Where a Link element's annotations go, if all go to one place."""
    found = {targets.get(objr.Obj.objgen) for objr in children(link) if isinstance(objr, Dictionary) and objr.get("/Type") == Name.OBJR}
    return found.pop() if len(found) == 1 else None


def _calls(documents) -> list:
    """The notes' calls (with their parents), in reading order: the book puts an empty anchor
    before each (``<a class="note-call">``: an empty Link), and the call follows it."""
    calls = []
    for node in elements(Array(documents)):
        kids = children(node)
        for before, kid in zip(kids, kids[1:]):
            if (_empty(before) and before.S == Name.Link and isinstance(kid, Dictionary)
                    and kid.get("/S") == Name.NonStruct and not _empty(kid)):
                calls.append((node, kid))
    return calls


def _empty(element) -> bool:
    """An empty Link or NonStruct: a note's anchor, or the call of a note's rest (no number)."""
    return isinstance(element, Dictionary) and element.get("/S") in (Name.Link, Name.NonStruct) and not children(element)


def _place(note, call) -> None:
    """``note`` read after the paragraph (or heading) holding ``call``, after the notes called
    before it there; or, for a call in a table cell, a caption or a list item, at its end."""
    block = call.P
    while block.get("/S") not in _BLOCKS and isinstance(block.get("/P"), Dictionary) and "/S" in block.P:
        block = block.P
    area = note.P
    area.K = Array([kid for kid in children(area) if not (isinstance(kid, Dictionary) and kid.objgen == note.objgen)])
    if block.S in (Name.P, Name.H1, Name.H2, Name.H3, Name.H4, Name.H5, Name.H6):
        parent = block.P
        kids = children(parent)
        at = next(i for i, kid in enumerate(kids) if isinstance(kid, Dictionary) and kid.objgen == block.objgen) + 1
        while at < len(kids) and isinstance(kids[at], Dictionary) and kids[at].get("/S") == Name.Note:
            at += 1
        parent.K = Array([*kids[:at], note, *kids[at:]])
    else:
        parent = block
        parent.K = Array([*children(block), note])
    note.P = parent


_BLOCKS = {Name.P, Name.H1, Name.H2, Name.H3, Name.H4, Name.H5, Name.H6, Name.TD, Name.TH, Name.Caption, Name.LBody, Name.LI, Name.Document}
