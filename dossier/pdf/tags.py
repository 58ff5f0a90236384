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
import re
from collections import Counter
from typing import NamedTuple

import pikepdf
from pikepdf import Array, Dictionary, Name

from . import pieces
from .joins import ROLES, flatten
from .notes import links, notes
from .tree import children, content_streams, elements, parent_tree

_PAGE, _ANNOT = "/DossierPage", "/DossierAnnot"  # placeholders for references out of a part's tree


def prepare(data: bytes, continued: list[bool] | None = None, seams: list[list[str]] | None = None,
            runs: list[list[list]] | None = None) -> bytes:
    """A part's tagged PDF, as WeasyPrint wrote it, with its tree made what a reader expects: its
    notes read after their paragraphs, one Link a link, languages marked, leaders left out, what
    a page break split joined, the bibliography a list, header cells' scope set, running heads
    made artifacts. Done where the part is typeset (in parallel, and cached with it), from what
    the typesetting reports (None: not known): per note, whether it is the rest of one split over
    a page (``continued``); per page, the tags of the elements that go over to it from the page
    before (``seams``), and of each piece of its text its language and kind (``runs`` of [count,
    language, kind]: kind "" for text, "leader" for a leader's dots, "entry" for a bibliography
    entry's)."""
    with pikepdf.open(io.BytesIO(data)) as part:
        root = part.Root.get("/StructTreeRoot")
        if root is None:
            return data
        said = pieces.read(root, part, runs)
        notes(root, continued)
        links(root, part)
        pieces.mark_languages(root, said, str(part.Root.get("/Lang", "")))
        flatten(root, None if seams is None else
                {page.obj.objgen: Counter(role for tag in tags for role in ROLES.get(tag, [Name.NonStruct]))
                 for page, tags in zip(part.pages, seams)})
        pieces.make_lists(part, said)
        for node in elements(root.K):
            if node.get("/S") == Name.TR:
                _scope(node)
        _artifacts(part, root.K, parent_tree(root))
        out = io.BytesIO()
        part.save(out, deterministic_id=True)
        return out.getvalue()


class Part(NamedTuple):
    """A part as the graft takes it: its tagged PDF (``prepare``d), the index of its first page in the book."""
    data: bytes
    first: int


def graft(book: bytes, parts: list[Part], lang: str) -> bytes:
    """``book`` (the merged pages, untagged) with the structure trees of ``parts`` as one tree,
    in the language ``lang``; PDF/UA-1 metadata (XMP, from the document information the merge
    wrote)."""
    with pikepdf.open(io.BytesIO(book)) as pdf:
        sections, nums, next_key, ids = [], [], 0, []
        document = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document, K=Array()))
        for index, laid in enumerate(parts):
            first = laid.first
            with pikepdf.open(io.BytesIO(laid.data)) as part:
                root = part.Root.get("/StructTreeRoot")
                if root is None:
                    continue
                kids, keys, part_ids = _copy(pdf, part, root, first, f"part{index}-")
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
        identify(pdf)
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True)
        return out.getvalue()


def identify(pdf: pikepdf.Pdf, pdfa: tuple[str, str] | None = None) -> None:
    """XMP metadata from the document information (the same title, author, dates in both), with
    the PDF/UA-1 identification, and PDF/A's (part, conformance) where given."""
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
        meta.load_from_docinfo(pdf.docinfo)
        meta.register_xml_namespace("http://www.aiim.org/pdfua/ns/id/", "pdfuaid")
        meta["pdfuaid:part"] = "1"
        if pdfa:
            meta.register_xml_namespace("http://www.aiim.org/pdfa/ns/id/", "pdfaid")
            meta["pdfaid:part"], meta["pdfaid:conformance"] = pdfa


def onto_sheets(pdf: pikepdf.Pdf, placed: dict) -> None:
    """The structure tree of a book whose pages were written onto sheets (the booklet):
    ``placed`` gives, for each page (its objgen), its sheet and what its marked-content ids were
    moved by. Each element's page is its sheet, its ids moved; the sheets' parent-tree entries
    join their pages'. The sheets carry no links: the Link elements become spans."""
    tree = pdf.Root.get("/StructTreeRoot")
    if tree is None:
        return
    entries = parent_tree(tree)
    sheets: dict = {}  # sheet objgen -> (sheet, its marks)
    for objgen, (sheet, by) in sorted(placed.items(), key=lambda item: item[1][1]):
        page = pdf.get_object(objgen)
        marks = entries.get(int(page.get("/StructParents", -1)))
        _, joined = sheets.setdefault(sheet.objgen, (sheet, []))
        joined[by:] = [None] * (by - len(joined)) + (list(marks) if isinstance(marks, Array) else [])  # ids past a page's last in use: none
    for node in elements(tree.K):
        kids = children(node)
        if "/S" in node and any(isinstance(kid, Dictionary) and kid.get("/Type") == Name.OBJR for kid in kids):
            kids = [kid for kid in kids if not (isinstance(kid, Dictionary) and kid.get("/Type") == Name.OBJR)]
            node.K = Array(kids)
        if node.get("/S") == Name.Link:
            node.S = Name.Span
        if "/Pg" in node and node.Pg.objgen in placed:
            sheet, by = placed[node.Pg.objgen]
            node.Pg = sheet
            if node.get("/Type") == Name.MCR:
                node.MCID = int(node.MCID) + by
            elif by and any(isinstance(kid, int) for kid in kids):
                node.K = Array([kid + by if isinstance(kid, int) else kid for kid in kids])
    nums = []
    for key, (sheet, marks) in enumerate(sorted(sheets.values(), key=lambda pair: pair[0].objgen)):
        sheet.StructParents = key
        nums += [key, Array(marks)]
    tree.ParentTree = pdf.make_indirect(Dictionary(Nums=Array(nums)))
    tree.ParentTreeNextKey = len(nums) // 2


def _copy(pdf: pikepdf.Pdf, part: pikepdf.Pdf, root, first: int, prefix: str) -> tuple[list, list[tuple[int, object]], list]:
    """The part's top-level structure elements and its parent tree's (key, value) pairs, copied
    into ``pdf``, their page and annotation references made the book's, their ids given
    ``prefix``; and the (id, element) pairs."""
    pages = {page.obj.objgen: index for index, page in enumerate(part.pages)}
    annots = {annot.objgen: (index, position) for index, page in enumerate(part.pages)
              for position, annot in enumerate(page.obj.get("/Annots", Array()))}
    documents = [kid for kid in children(root) if kid.get("/S") == Name.Document] or children(root)
    for document in documents:  # its parent, the part's root, stays behind
        if "/P" in document:
            del document["/P"]
    kids = [kid for document in documents for kid in children(document) if isinstance(kid, Dictionary)]
    numbers = root.ParentTree.get("/Nums", Array())
    values = [numbers[i + 1] for i in range(0, len(numbers), 2)]
    for node in elements(Array([*kids, *values])):  # references out of the tree made placeholders, before copying
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
    for node in elements(copied):  # placeholders made the book's pages and annotations
        if "/Pg" in node and _PAGE in node.Pg:
            node.Pg = book_pages[first + int(node.Pg[_PAGE])].obj
        if "/Obj" in node and _ANNOT in node.Obj:
            index, position = (int(n) for n in node.Obj[_ANNOT])
            node.Obj = book_pages[first + index].obj.Annots[position]
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
    reached = {node.objgen for node in elements(document) if node.is_indirect}
    for page in pdf.pages:
        marks = tree.get(int(page.obj.get("/StructParents", -1)))
        if not isinstance(marks, Array):
            continue
        loose = {mcid for mcid, element in enumerate(marks)
                 if not (isinstance(element, Dictionary) and element.is_indirect and element.objgen in reached)}
        if not loose:
            continue
        if not _unmark(page, loose):
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


MARK_RE = re.compile(rb"/[A-Za-z]+\s*<<\s*/MCID\s+(\d+)\s*>>\s*BDC")


def _unmark(page, loose: set[int]) -> bool:
    """The page's marked-content sequences ``loose`` made artifacts in its content's bytes, as
    WeasyPrint writes them ("/Span <</MCID 3>> BDC"): ten times as fast as parsing the content.
    False, and nothing changed, where the bytes hold an id written another way."""
    found = [(stream, stream.read_bytes()) for stream in content_streams(page)]
    if any(len(MARK_RE.findall(data)) != data.count(b"/MCID") for _, data in found):
        return False
    for stream, data in found:
        changed = MARK_RE.sub(lambda m: b"/Artifact BMC" if int(m.group(1)) in loose else m.group(0), data)
        if changed != data:
            stream.write(changed)
    return True


def _scope(row) -> None:
    """Each header cell of a table row given its /Scope (WeasyPrint ties data cells to their
    headers with /Headers, but a reader looks for the scope on the header): a row's header where
    the row has data cells too, a column's where it has none."""
    cells = [kid for kid in children(row) if isinstance(kid, Dictionary)]
    scope = Name.Row if any(cell.get("/S") == Name.TD for cell in cells) else Name.Column
    for cell in cells:
        if cell.get("/S") == Name.TH:
            attributes = cell.get("/A")
            if isinstance(attributes, Dictionary) and attributes.get("/O") == Name.Table:
                attributes.Scope = scope
            else:
                cell.A = Dictionary(O=Name.Table, Scope=scope)
