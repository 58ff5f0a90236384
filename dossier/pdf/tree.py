"""Walking a PDF structure tree (pikepdf): its elements in reading order, an element's children,
and the parent tree pointed to the elements that others were folded into."""
from __future__ import annotations

from pikepdf import Array, Dictionary


def elements(node):
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


def children(node) -> list:
    kids = node.get("/K")
    return [] if kids is None else list(kids) if isinstance(kids, Array) else [kids]


def redirect(root, moved: dict) -> None:
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


def parent_tree(root) -> dict:
    """A structure tree root's parent tree, by key: a page's marks (an array, by marked-content
    id) or an annotation's element."""
    numbers = root.ParentTree.get("/Nums", Array())
    return {int(numbers[i]): numbers[i + 1] for i in range(0, len(numbers), 2)}


def content_streams(page) -> list:
    """A page's content streams, in order (its /Contents: one stream, an array of them, or none)."""
    contents = page.obj.get("/Contents")
    return list(contents) if isinstance(contents, Array) else [contents] if contents is not None else []
