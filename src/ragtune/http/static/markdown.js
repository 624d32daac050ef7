// A small Markdown renderer for answers that builds DOM nodes (never HTML strings): paragraphs, headings, bullet
// and numbered lists, code blocks, `code`, **bold**, *italic*, and [n] citation markers handed to a callback.
// Anything else, HTML included, stays text.
"use strict";

(function () {
  const INLINE = /(`[^`\n]+`)|(\*\*[^*\n]+\*\*)|(__[^_\n]+__)|(\*[^*\s][^*\n]*\*)|(\[(\d+)\])/;

  function inline(parent, text, marker) {
    let rest = text;
    while (rest) {
      const m = INLINE.exec(rest);
      if (!m) { parent.append(document.createTextNode(rest)); return; }
      if (m.index) parent.append(document.createTextNode(rest.slice(0, m.index)));
      const token = m[0];
      if (m[1]) {
        const code = document.createElement("code");
        code.textContent = token.slice(1, -1);
        parent.append(code);
      } else if (m[2] || m[3]) {
        const strong = document.createElement("strong");
        inline(strong, token.slice(2, -2), marker);
        parent.append(strong);
      } else if (m[4]) {
        const em = document.createElement("em");
        inline(em, token.slice(1, -1), marker);
        parent.append(em);
      } else {
        parent.append((marker && marker(Number(m[6]))) || document.createTextNode(token));
      }
      rest = rest.slice(m.index + token.length);
    }
  }

  function render(container, text, marker) {
    container.replaceChildren();
    const lines = String(text || "").replace(/\r\n?/g, "\n").split("\n");
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      if (!line.trim()) { i++; continue; }
      if (line.startsWith("```")) {
        const pre = document.createElement("pre");
        const code = document.createElement("code");
        const body = [];
        for (i++; i < lines.length && !lines[i].startsWith("```"); i++) body.push(lines[i]);
        code.textContent = body.join("\n");
        pre.append(code);
        container.append(pre);
        i++;
        continue;
      }
      const heading = /^(#{1,6})\s+(.*)$/.exec(line);
      if (heading) {
        const h = document.createElement(heading[1].length <= 2 ? "h3" : "h4");
        inline(h, heading[2], marker);
        container.append(h);
        i++;
        continue;
      }
      const item = /^\s*([-*+]|\d+[.)])\s+/;
      if (item.test(line)) {
        const ordered = /\d/.test(item.exec(line)[1]);
        const list = document.createElement(ordered ? "ol" : "ul");
        while (i < lines.length && item.test(lines[i])) {
          const li = document.createElement("li");
          inline(li, lines[i].replace(item, ""), marker);
          list.append(li);
          i++;
        }
        container.append(list);
        continue;
      }
      const para = [];
      while (i < lines.length && lines[i].trim() && !item.test(lines[i]) && !lines[i].startsWith("```") &&
             !/^#{1,6}\s/.test(lines[i])) {
        para.push(lines[i].trim());
        i++;
      }
      const p = document.createElement("p");
      inline(p, para.join(" "), marker);
      container.append(p);
    }
  }

  window.renderMarkdown = render;
})();
