"""The language of each element of a part's structure tree (/Lang), where it differs from its
parent's: a chapter in another language, a foreign name or title in the text. WeasyPrint writes
no /Lang; the typesetting reports the language of each piece of text in the order of the tree
(``typeset/weasy.py`` ``_languages``), and the graft sets it here."""
from __future__ import annotations

from collections import Counter

import pikepdf
from pikepdf import Array, Dictionary, Name

from .tree import children

_MIXED = object()  # an element holding text in more than one language
_ALL = "*"  # the key under which ``assign`` says a whole part is in one language


def assign(root, part: pikepdf.Pdf, runs: list[list[list]] | None) -> dict:
    """Each piece of text's element (a text span of WeasyPrint's, or a link holding its text) and
    its language, by objgen: the ``runs`` ([count, language, leader] per page) taken in tree
    order. The pieces of a leader (the contents' dots) are taken out of the tree: a reader would
    read each dot; their marked content becomes an artifact. Nothing is done where the tree's
    pieces and the runs do not match in number, page by page."""
    if runs is None:
        return {}
    said = {language for page_runs in runs for _, language, _ in page_runs}
    if len({_primary(language) for language in said}) == 1 and not any(leader for page_runs in runs for *_, leader in page_runs):
        return {_ALL: min(said)}  # all of it in one language (en, en-US: one), no leader: no need to look
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
    pieces = [[(language, leader) for count, language, leader in page_runs for _ in range(count)] for page_runs in runs]
    if any(len(said) != len(elements) for said, elements in zip(pieces, found)):
        return {}
    spoken: dict = {}
    numbers = root.ParentTree.get("/Nums", Array())
    marks = {int(numbers[i]): numbers[i + 1] for i in range(0, len(numbers), 2)}
    for page, elements, said in zip(part.pages, found, pieces):
        for (element, mcid), (language, leader) in zip(elements, said):
            if not leader:
                spoken.setdefault(element.objgen, set()).add(language)
            elif element.S == Name.Link:  # its dots out of the link, and out of the parent tree
                element.K = Array([kid for kid in children(element) if kid != mcid or not isinstance(kid, int)])
                page_marks = marks.get(int(page.obj.get("/StructParents", -1)))
                if isinstance(page_marks, Array) and mcid < len(page_marks):
                    page_marks[mcid] = None
            elif isinstance(element.get("/P"), Dictionary):  # a span of dots: out of the tree
                parent = element.P
                parent.K = Array([kid for kid in children(parent) if not (isinstance(kid, Dictionary) and kid.objgen == element.objgen)])
    return {objgen: languages.pop() if len(languages) == 1 else _MIXED for objgen, languages in spoken.items()}


def mark(root, spoken: dict, base: str) -> None:
    """/Lang set where the language changes: on each element whose text is mostly in a language
    other than the one it is in (the book's, ``base``, at the top), and so on down. Variants of
    one language (en, en-US: the stylesheet's choice of hyphenation) are not a change."""
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
