"""What the typesetting says of each piece of text (``typeset/weasy.py`` ``_pieces``), in the
order of a part's structure tree, and what ``tags.prepare`` makes of it: the language of each element
(/Lang) where it differs from its parent's (a chapter in another language, a foreign name or
title); a leader's dots (the contents') out of the tree, artifacts a reader skips; the
bibliography's entries a list. WeasyPrint knows none of this when it writes the tree."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pikepdf
from pikepdf import Array, Dictionary, Name

from .tree import children, parent_tree

_MIXED = object()  # an element holding text in more than one language
_ALL = "*"  # the key under which ``read`` says a whole part is in one language


@dataclass
class Said:
    spoken: dict = field(default_factory=dict)  # element objgen -> its text's language (or _MIXED); or _ALL -> the part's
    entries: list = field(default_factory=list)  # the paragraphs that are bibliography entries


def read(root, part: pikepdf.Pdf, runs: list[list[list]] | None) -> Said:
    """Each piece of text's element (a text span of WeasyPrint's, or a link holding its text),
    its language and kind: the ``runs`` ([count, language, kind] per page; kind "", "leader" or
    "entry") taken in tree order. The pieces of a leader are taken out of the tree here: a reader
    would read each dot; their marked content becomes an artifact. Nothing is done where the
    tree's pieces and the runs do not match in number, page by page."""
    if runs is None:
        return Said()
    languages = {language for page_runs in runs for _, language, _ in page_runs}
    if len({_primary(language) for language in languages}) == 1 and not any(kind for page_runs in runs for *_, kind in page_runs):
        return Said({_ALL: min(languages)})  # all of it in one language (en, en-US: one), nothing else: no need to look
    pages = {page.obj.objgen: index for index, page in enumerate(part.pages)}
    found: list[list] = [[] for _ in runs]  # per page: (element, its mcid) a piece

    def visit(node) -> None:
        kids = children(node)
        page = pages.get(node.Pg.objgen) if "/Pg" in node else None
        if node.get("/S") == Name.Span and len(kids) == 1 and isinstance(kids[0], int) and page is not None:
            found[page].append((node, kids[0]))
            return
        for kid in kids:
            if isinstance(kid, int) and node.get("/S") == Name.Link and page is not None:
                found[page].append((node, kid))
            elif isinstance(kid, Dictionary) and "/S" in kid:
                visit(kid)

    for document in children(root):
        if isinstance(document, Dictionary) and "/S" in document:
            visit(document)
    pieces = [[(language, kind) for count, language, kind in page_runs for _ in range(count)] for page_runs in runs]
    if any(len(said) != len(elements) for said, elements in zip(pieces, found)):
        return Said()
    spoken: dict = {}
    entries: dict = {}
    marks = parent_tree(root)
    for page, elements, said in zip(part.pages, found, pieces):
        for (element, mcid), (language, kind) in zip(elements, said):
            if kind != "leader":
                spoken.setdefault(element.objgen, set()).add(language)
                if kind == "entry":
                    paragraph = element
                    while paragraph.get("/S") != Name.P and isinstance(paragraph.get("/P"), Dictionary):
                        paragraph = paragraph.P
                    if paragraph.get("/S") == Name.P:
                        entries.setdefault(paragraph.objgen, paragraph)
            elif element.S == Name.Link:  # its dots out of the link, and out of the parent tree
                element.K = Array([kid for kid in children(element) if kid != mcid or not isinstance(kid, int)])
                page_marks = marks.get(int(page.obj.get("/StructParents", -1)))
                if isinstance(page_marks, Array) and mcid < len(page_marks):
                    page_marks[mcid] = None
            elif isinstance(element.get("/P"), Dictionary):  # a span of dots: out of the tree
                parent = element.P
                parent.K = Array([kid for kid in children(parent) if not (isinstance(kid, Dictionary) and kid.objgen == element.objgen)])
    return Said({objgen: languages.pop() if len(languages) == 1 else _MIXED for objgen, languages in spoken.items()},
                list(entries.values()))


def make_lists(part: pikepdf.Pdf, said: Said) -> None:
    """The bibliography's entries (paragraphs, as the book sets them) a list, as a reader expects:
    each run of entries side by side an L (their parent itself, if it holds nothing else), each
    entry an LI holding its text as the LBody. After the joins: an entry over two pages is one."""
    wanted = {entry.objgen for entry in said.entries}
    parents = {entry.P.objgen: entry.P for entry in said.entries if isinstance(entry.get("/P"), Dictionary)}
    for parent in parents.values():
        kids = children(parent)
        is_entry = [isinstance(kid, Dictionary) and kid.objgen in wanted for kid in kids]
        if not any(is_entry):
            continue
        whole = all(is_entry)
        out, run = [], []
        for kid, entry in zip([*kids, None], [*is_entry, False]):
            if entry:
                run.append(kid)
                continue
            if run:
                if whole:
                    out += [_item(part, parent, paragraph) for paragraph in run]
                else:
                    items = part.make_indirect(Dictionary(Type=Name.StructElem, S=Name.L, P=parent, Pg=run[0].Pg, K=Array()))
                    items.K = Array([_item(part, items, paragraph) for paragraph in run])
                    out.append(items)
                run = []
            if kid is not None:
                out.append(kid)
        if whole:
            parent.S = Name.L
        parent.K = Array(out)


def _item(part: pikepdf.Pdf, list_element, paragraph):
    """``paragraph`` made the body of a list item of ``list_element``."""
    item = part.make_indirect(Dictionary(Type=Name.StructElem, S=Name.LI, P=list_element, Pg=paragraph.Pg, K=Array([paragraph])))
    paragraph.S, paragraph.P = Name.LBody, item
    return item


def mark_languages(root, said: Said, base: str) -> None:
    """/Lang set where the language changes: on each element whose text is mostly in a language
    other than the one it is in (the book's, ``base``, at the top), and so on down. Variants of
    one language (en, en-US: the stylesheet's choice of hyphenation) are not a change."""
    spoken = said.spoken
    if not spoken:
        return
    if _ALL in spoken:  # the part in one language: its top elements say so, if it is not the book's
        if _primary(spoken[_ALL] or base) != _primary(base):
            for document in children(root):
                for kid in children(document) if isinstance(document, Dictionary) else ():
                    if isinstance(kid, Dictionary) and "/S" in kid:
                        kid.Lang = pikepdf.String(spoken[_ALL])
        return
    counts: dict = {}

    def gather(node) -> Counter:
        found = Counter()
        if node.objgen in spoken and spoken[node.objgen] is not _MIXED:
            found[spoken[node.objgen] or base] += 1
        for kid in children(node):
            if isinstance(kid, Dictionary) and "/S" in kid:
                found.update(gather(kid))
        counts[node.objgen] = found
        return found

    def set_lang(node, inherited: str) -> None:
        found = counts.get(node.objgen)
        if not found:
            return
        main = max(found, key=lambda language: (found[language], language))
        if _primary(main) != _primary(inherited):
            node.Lang = pikepdf.String(main)
            inherited = main
        if len(found) > 1:
            for kid in children(node):
                if isinstance(kid, Dictionary) and "/S" in kid:
                    set_lang(kid, inherited)

    for document in children(root):
        if isinstance(document, Dictionary) and "/S" in document:
            gather(document)
            for kid in children(document):  # the part's Document stays behind: its sections go into the book's
                if isinstance(kid, Dictionary) and "/S" in kid:
                    set_lang(kid, base)


def _primary(language: str) -> str:
    return language.split("-")[0].lower()
