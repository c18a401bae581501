"""The landmarks of a served page, read from its HTML: how many <main> it has, and its <h1>s that show
without any script (not inside a hidden element, a closed <dialog> or a visually-hidden one)."""

from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Landmarks(HTMLParser):
    def __init__(self):
        super().__init__()
        self.n_main = 0
        self.visible_h1 = []
        self.stack = []  # (tag, hides its content)
        self.h1_text = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "main" or attributes.get("role") == "main":
            self.n_main += 1
        hides = (
            "hidden" in attributes
            or (tag == "dialog" and "open" not in attributes)
            or "visually-hidden" in (attributes.get("class") or "").split()
        )
        if tag == "h1" and not hides and not any(hidden for _tag, hidden in self.stack):
            self.h1_text = []
        if tag not in VOID:
            self.stack.append((tag, hides))

    def handle_data(self, data):
        if self.h1_text is not None:
            self.h1_text.append(data)

    def handle_endtag(self, tag):
        if tag == "h1" and self.h1_text is not None:
            self.visible_h1.append(" ".join("".join(self.h1_text).split()))
            self.h1_text = None
        if any(open_tag == tag for open_tag, _hides in self.stack):
            while self.stack and self.stack.pop()[0] != tag:
                pass


def landmarks_of(html: str) -> Landmarks:
    parser = Landmarks()
    parser.feed(html)
    parser.close()
    return parser
