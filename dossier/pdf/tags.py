"""One structure tree for the book, from the tagged parts (PDF/UA-1).

WeasyPrint tags each part it typesets (``pdf_variant="pdf/ua-1"``): a ``Document`` of sections,
headings, paragraphs, lists, tables, figures and links, each tied to the marked content of its
page through the part's parent tree (``/StructParents`` on a page, ``/StructParent`` on a link).
Merging pages, as pypdf does, keeps the pages' keys but drops the trees. ``graft`` puts them
back: each part's tree, copied whole, becomes a section of the book's one ``Document``; its
references to the part's pages and link annotations point to the book's; its keys move past
those of the parts before it, in its pages and links as in the book's parent tree. What the
build stamps on the pages afterwards (folios, contents numbers) is marked an artifact where it
is drawn (``merge._stamp``). The catalogue says the file is tagged, in what language, under
what title, and that it is PDF/UA-1 (its XMP metadata).
"""
from __future__ import annotations

import io

import pikepdf
from pikepdf import Array, Dictionary, Name

_PAGE, _ANNOT = "/DossierPage", "/DossierAnnot"  # placeholders for references out of a part's tree


def graft(book: bytes, parts: list[tuple[bytes, int, list[bool]]], lang: str) -> bytes:
    """``book`` (the merged pages, untagged) with the structure trees of ``parts`` (each its
    tagged PDF, the index of its first page in the book, and per note whether it is the rest of
    one split over a page), as one tree; PDF/UA-1 metadata
    (XMP, from the document information the merge wrote)."""
    with pikepdf.open(io.BytesIO(book)) as pdf:
        sections, nums, next_key, ids = [], [], 0, []
        document = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document, K=Array()))
        for index, (data, first, continued) in enumerate(parts):
            with pikepdf.open(io.BytesIO(data)) as part:
                root = part.Root.get("/StructTreeRoot")
                if root is None:
                    continue
                kids, keys, part_ids = _copy(pdf, part, root, first, f"part{index}-", continued)
                ids += part_ids
                for kid in kids:
                    kid.P = document
                    sections.append(kid)
                for key, value in keys:
                    nums += [key + next_key, value]
                _keys(pdf, part, first, next_key)
                next_key += max((key for key, _ in keys), default=-1) + 1
        document.K = Array(sections)
        reached = _artifacts(pdf, document, dict(zip(nums[::2], nums[1::2])))
        ids = [(name, element) for name, element in ids if element.objgen in reached]
        tree = pdf.make_indirect(Dictionary(Type=Name.StructTreeRoot, K=Array([document]),
                                            ParentTree=pdf.make_indirect(Dictionary(Nums=Array(nums))),
                                            ParentTreeNextKey=next_key))
        if ids:  # the elements with an id, by id, as the standard asks
            tree.IDTree = pdf.make_indirect(Dictionary(Names=Array(
                [item for name, element in sorted(ids, key=lambda pair: pair[0]) for item in (pikepdf.String(name), element)])))
        document.P = tree
        pdf.Root.StructTreeRoot = tree
        pdf.Root.MarkInfo = Dictionary(Marked=True)
        pdf.Root.Lang = pikepdf.String(lang)
        pdf.Root.ViewerPreferences = Dictionary(DisplayDocTitle=True)
        with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
            meta.load_from_docinfo(pdf.docinfo)  # the same title, author, dates as the document information
            meta.register_xml_namespace("http://www.aiim.org/pdfua/ns/id/", "pdfuaid")
            meta["pdfuaid:part"] = "1"
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True)
        return out.getvalue()


def _copy(pdf: pikepdf.Pdf, part: pikepdf.Pdf, root, first: int, prefix: str, continued: list[bool]) -> tuple[list, list[tuple[int, object]], list]:
    """The part's top-level structure elements and its parent tree's (key, value) pairs, copied
    into ``pdf``, their page and annotation references made the book's, their ids given
    ``prefix``; and the (id, element) pairs."""
    pages = {page.obj.objgen: index for index, page in enumerate(part.pages)}
    annots = {annot.objgen: (index, position) for index, page in enumerate(part.pages)
              for position, annot in enumerate(page.obj.get("/Annots", Array()))}
    _notes(root, continued)
    _flatten(root)
    documents = [kid for kid in _kids(root) if kid.get("/S") == Name.Document] or _kids(root)
    for document in documents:  # its parent, the part's root, stays behind
        if "/P" in document:
            del document["/P"]
    kids = [kid for document in documents for kid in _kids(document) if isinstance(kid, Dictionary)]
    numbers = root.ParentTree.get("/Nums", Array())
    values = [numbers[i + 1] for i in range(0, len(numbers), 2)]
    for node in _elements(Array([*kids, *values])):  # references out of the tree made placeholders, before copying
        if "/Pg" in node:
            node.Pg = Dictionary({_PAGE: _found(pages, node.Pg, "page")})
        if node.get("/Type") == Name.OBJR:
            node.Obj = Dictionary({_ANNOT: Array(_found(annots, node.Obj, "link annotation"))})
        if "/ID" in node:  # WeasyPrint's header cells' ids, unique within a part only
            node.ID = pikepdf.String(prefix + str(node.ID))
        attributes = node.get("/A")
        if isinstance(attributes, Dictionary) and "/Headers" in attributes:
            attributes.Headers = Array([pikepdf.String(prefix + str(h)) for h in attributes.Headers])
    copied = pdf.copy_foreign(part.make_indirect(Array([*kids, *values])))
    book_pages = pdf.pages
    ids: list = []
    for node in _elements(copied):  # placeholders made the book's pages and annotations
        if "/Pg" in node and _PAGE in node.Pg:
            node.Pg = book_pages[first + int(node.Pg[_PAGE])].obj
        if "/Obj" in node and _ANNOT in node.Obj:
            index, position = (int(n) for n in node.Obj[_ANNOT])
            node.Obj = book_pages[first + index].obj.Annots[position]
        if node.get("/S") == Name.TR:
            _scope(node)
        if "/ID" in node:
            ids.append((str(node.ID), node))
    keys = [int(numbers[i]) for i in range(0, len(numbers), 2)]
    return list(copied)[:len(kids)], list(zip(keys, list(copied)[len(kids):])), ids


def _found(where: dict, reference, what: str):
    """Where ``reference`` is in the part; an error if the part's tree names what the part lacks."""
    if reference.objgen not in where:
        raise ValueError(f"a part's structure tree names a {what} that is not in the part")
    return where[reference.objgen]


def _keys(pdf: pikepdf.Pdf, part: pikepdf.Pdf, first: int, by: int) -> None:
    """The part's pages' and links' parent-tree keys (which the merge dropped or kept as they
    were) given to the book's, moved past those of the parts before it; links in reading order."""
    for index, page in enumerate(part.pages):
        book = pdf.pages[first + index].obj
        if "/StructParents" in page.obj:
            book.StructParents = int(page.obj.StructParents) + by
        annotations = book.get("/Annots", Array())
        for position, annot in enumerate(page.obj.get("/Annots", Array())):
            if "/StructParent" in annot:
                if position >= len(annotations) or annotations[position].get("/Subtype") != annot.get("/Subtype"):
                    raise ValueError(f"page {first + index + 1}: its links are not where the part had them")
                annotations[position].StructParent = int(annot.StructParent) + by
        if len(annotations):
            book.Tabs = Name.S


def _artifacts(pdf: pikepdf.Pdf, document, tree: dict) -> set:
    """Content that WeasyPrint marks but leaves out of the tree (the running heads of the page
    margins, a table's header repeated on the next page) marked an artifact, as a page's furniture
    is: a reader skips it. Returns the elements the tree reaches (their objgens)."""
    reached = {node.objgen for node in _elements(document) if node.is_indirect}
    for page in pdf.pages:
        marks = tree.get(int(page.obj.get("/StructParents", -1)))
        if not isinstance(marks, Array):
            continue
        loose = {mcid for mcid, element in enumerate(marks)
                 if not (isinstance(element, Dictionary) and element.is_indirect and element.objgen in reached)}
        if not loose:
            continue
        operations = []
        for operands, operator in pikepdf.parse_content_stream(page):
            if (operator == pikepdf.Operator("BDC") and isinstance(operands[1], Dictionary)
                    and int(operands[1].get("/MCID", -1)) in loose):
                operands, operator = [Name.Artifact], pikepdf.Operator("BMC")
            operations.append((operands, operator))
        page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(operations))
        for mcid in loose:
            marks[mcid] = None
    return reached


def _scope(row) -> None:
    """Each header cell of a table row given its /Scope (WeasyPrint ties data cells to their
    headers with /Headers, but a reader looks for the scope on the header): a row's header where
    the row has data cells too, a column's where it has none."""
    cells = [kid for kid in _kids(row) if isinstance(kid, Dictionary)]
    scope = Name.Row if any(cell.get("/S") == Name.TD for cell in cells) else Name.Column
    for cell in cells:
        if cell.get("/S") == Name.TH:
            attributes = cell.get("/A")
            if isinstance(attributes, Dictionary) and attributes.get("/O") == Name.Table:
                attributes.Scope = scope
            else:
                cell.A = Dictionary(O=Name.Table, Scope=scope)


def finish(data: bytes) -> bytes:
    """A tagged PDF of one part (a handout), its tree WeasyPrint's, with its table headers' scope
    and its running heads marked artifacts."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        root = pdf.Root.get("/StructTreeRoot")
        if root is None:
            return data
        for node in _elements(root.K):
            if node.get("/S") == Name.TR:
                _scope(node)
        numbers = root.ParentTree.get("/Nums", Array())
        _artifacts(pdf, root.K, dict(zip(numbers[::2], numbers[1::2])))
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True)
        return out.getvalue()


_PLAIN = {"/Type", "/S", "/P", "/K", "/Pg"}  # a span with no more than these says nothing of its own


def _elements(node):
    """Each dictionary of a structure tree (or of an array of them) once, a parent before its
    children, in reading order."""
    seen, stack = set(), [node]
    while stack:
        node = stack.pop()
        if isinstance(node, Array):
            stack.extend(reversed(list(node)))
        elif isinstance(node, Dictionary) and not (node.is_indirect and node.objgen in seen):
            if node.is_indirect:
                seen.add(node.objgen)
            yield node
            if "/K" in node:
                stack.append(node.K)


def _kids(node) -> list:
    kids = node.get("/K")
    return [] if kids is None else list(kids) if isinstance(kids, Array) else [kids]


def _flatten(root) -> None:
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
        for kid in _kids(node):
            if isinstance(kid, Dictionary) and "/S" in kid:
                visit(kid)
                content = _kids(kid)
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
        joined = _join_tables(folded, moved, node.get("/S") == Name.Document)
        if changed or len(joined) < len(folded):
            node.K = Array(joined)

    for top in _kids(root):
        if isinstance(top, Dictionary):
            visit(top)
    _redirect(root, moved)


def _redirect(root, moved: dict) -> None:
    """The parent tree's entries for elements folded or joined into others pointed to those."""
    numbers = root.ParentTree.get("/Nums", Array())
    for i in range(1, len(numbers), 2):
        value = numbers[i]
        if isinstance(value, Array):
            for position, element in enumerate(value):
                target = element
                while isinstance(target, Dictionary) and target.is_indirect and target.objgen in moved:
                    target = moved[target.objgen]
                if target is not element:
                    value[position] = target


def _notes(root, continued: list[bool]) -> None:
    """The notes made /Note elements (each with an id, as PDF/UA asks), the rest of a note split
    over a page joined to it. WeasyPrint tags a page's notes area as a NonStruct of the part's
    Document holding a Span a note, in the order of the part's notes; where the count differs,
    nothing is changed."""
    documents = [kid for kid in _kids(root) if isinstance(kid, Dictionary) and kid.get("/S") == Name.Document]
    areas = [kid for document in documents for kid in _kids(document)
             if isinstance(kid, Dictionary) and kid.get("/S") == Name.NonStruct and _kids(kid)
             and all(isinstance(item, Dictionary) and item.get("/S") == Name.Span for item in _kids(kid))]
    spans = [(area, span) for area in areas for span in _kids(area)]
    if len(spans) != len(continued):
        return
    moved, note, number = {}, None, 0
    for (area, span), rest in zip(spans, continued):
        if rest and note is not None:
            items = [Dictionary(Type=Name.MCR, Pg=span.Pg, MCID=item) if isinstance(item, int) else item for item in _kids(span)]
            for item in items:
                if isinstance(item, Dictionary) and "/S" in item:
                    item.P = note
            note.K = Array([*_kids(note), *items])
            moved[span.objgen] = note
            area.K = Array([kid for kid in _kids(area) if not (isinstance(kid, Dictionary) and kid.objgen == span.objgen)])
        else:
            number += 1
            span.S, span.ID, note = Name.Note, pikepdf.String(f"note-{number}"), span
    _redirect(root, moved)


def _join_tables(kids: list, moved: dict, top: bool) -> list:
    """A table that goes over a page is one table, not one a page: the rows of a continuation
    (on the next page, no caption, as many columns, a header only if the first has one) go into
    the table before it; its header, repeated at the top of the page, is left out of the tree (the
    page's furniture, made an artifact with the rest) and its cells' /Headers name the first
    part's header cells instead. A section or block that goes over a page (its part on the next
    page starting with no heading) is one element, the table joined within it. At the top of a
    part, the pages' running heads (NonStruct) stand between the two parts."""
    out: list = []
    for kid in kids:
        before = next((k for k in reversed(out) if not (top and isinstance(k, Dictionary) and k.get("/S") == Name.NonStruct)), None)
        if _continues(before, kid):
            moved[kid.objgen] = before  # the parent tree's entries for the continuation's own content
            if kid.S == Name.Table:
                _join_rows(before, kid)
            else:
                merged = _kids(before)
                for part in _kids(kid):
                    if isinstance(part, int):  # content of the continuation's page: said so
                        part = Dictionary(Type=Name.MCR, Pg=kid.Pg, MCID=part)
                    elif isinstance(part, Dictionary) and "/S" in part:
                        part.P = before
                    merged.append(part)
                before.K = Array(_join_tables(merged, moved, False))
            continue
        out.append(kid)
    return out


def _continues(before, kid) -> bool:
    """Whether ``kid`` is the part of ``before`` that went over to the next page."""
    if not (isinstance(kid, Dictionary) and isinstance(before, Dictionary) and kid.get("/S") == before.get("/S")
            and "/Pg" in kid and "/Pg" in before and kid.Pg.objgen != before.Pg.objgen and kid.is_indirect):
        return False
    if kid.S == Name.Table:
        parts, earlier = _parts(kid), _parts(before)
        return ("/Caption" not in parts and "/TBody" in earlier and ("/THead" in parts) == ("/THead" in earlier)
                and _columns(kid) == _columns(before))
    if kid.S in (Name.Sect, Name.Div):
        first, depth = kid, 0
        while first is not None and depth < 4:  # its first element, and that one's first, ...
            if str(first.get("/S", "")).startswith("/H"):
                return False  # a heading starts it: a section of its own
            first = next((part for part in _kids(first) if isinstance(part, Dictionary) and "/S" in part), None)
            depth += 1
        last = next((part for part in reversed(_kids(before)) if isinstance(part, Dictionary) and "/S" in part), None)
        opening = next((part for part in _kids(kid) if isinstance(part, Dictionary) and "/S" in part), None)
        return kid.S == Name.Sect or (last is not None and opening is not None and _continues(last, opening))
    return False


def _parts(table) -> list[str]:
    return [str(part.get("/S")) for part in _kids(table) if isinstance(part, Dictionary)]


def _columns(table) -> int:
    """The most cells a row of the table has (a row may span several columns with one)."""
    return max((len([c for c in _kids(row) if isinstance(c, Dictionary) and c.get("/S") in (Name.TH, Name.TD)])
                for part in _kids(table) if isinstance(part, Dictionary) and part.get("/S") in (Name.THead, Name.TBody)
                for row in _kids(part) if isinstance(row, Dictionary) and row.get("/S") == Name.TR), default=0)


def _header_ids(table) -> list[list[str]]:
    return [[str(cell.get("/ID", "")) for cell in _kids(row) if isinstance(cell, Dictionary)]
            for part in _kids(table) if isinstance(part, Dictionary) and part.get("/S") == Name.THead
            for row in _kids(part) if isinstance(row, Dictionary)]


def _join_rows(before, kid) -> None:
    body = [part for part in _kids(before) if isinstance(part, Dictionary) and part.get("/S") == Name.TBody][-1]
    rename = {old: new for olds, news in zip(_header_ids(kid), _header_ids(before)) for old, new in zip(olds, news) if old}
    for part in _kids(kid):
        if isinstance(part, Dictionary) and part.get("/S") == Name.TBody:
            rows = _kids(part)
            for row in rows:
                if isinstance(row, Dictionary):
                    row.P = body
                    _rename_headers(row, rename)
            body.K = Array([*_kids(body), *rows])


def _rename_headers(row, rename: dict[str, str]) -> None:
    """The cells' /Headers that named the dropped repeated header's cells name the first part's."""
    for cell in _kids(row):
        attributes = cell.get("/A") if isinstance(cell, Dictionary) else None
        if isinstance(attributes, Dictionary) and "/Headers" in attributes:
            attributes.Headers = Array([pikepdf.String(rename.get(str(h), str(h))) for h in attributes.Headers])
