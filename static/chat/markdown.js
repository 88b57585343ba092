// A post's text, drawn as the Markdown subset posts may use: *emphasis*, **strong**,
// ~~struck~~, `inline code`, fenced code blocks, [links](https://…) and bare http(s) URLs,
// > quotes, and - / 1. lists. Drawn into DOM nodes with createElement and textContent only:
// never HTML, so no markup a person types can become an element, attribute or script.
// A link's address must be http:, https: or mailto: (anything else stays text), and every
// link opens in a new tab with rel="noopener noreferrer". The text itself is never changed:
// the API returns it as sent, and the bot sees it as sent.

// Quotes in quotes, emphasis in emphasis: deeper than this is drawn as text.
const MAX_DEPTH = 8;
const LINK_PROTOCOLS = new Set(["http:", "https:", "mailto:"]);
const ESCAPABLE = "\\`*_~[]()<>#+-.!>|{}";

const FENCE = /^ {0,3}(`{3,}|~{3,})[^`]*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const BULLET = /^ {0,3}[-*+] +(.*)$/;
const NUMBERED = /^ {0,3}(\d{1,9})[.)] +(.*)$/;
const BARE_URL = /^https?:\/\/[^\s<>]+/i;

// A fragment holding `text` drawn as Markdown.
export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment();
  blocks(fragment, String(text).split(/\r\n|\r|\n/), 0);
  return fragment;
}

// The address a link may have, or null: http(s) or mailto, absolute, as the browser parses it.
export function safeHref(address) {
  const trimmed = address.trim();
  if (!/^(https?:\/\/|mailto:)/i.test(trimmed)) return null;
  let url;
  try {
    url = new URL(trimmed);
  } catch (error) {
    return null;
  }
  return LINK_PROTOCOLS.has(url.protocol) ? url.href : null;
}

function element(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

function isBlockStart(line) {
  return FENCE.test(line) || QUOTE.test(line) || BULLET.test(line) || NUMBERED.test(line);
}

function blocks(parent, lines, depth) {
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i += 1;
      continue;
    }
    const fence = line.match(FENCE);
    if (fence) {
      const marker = fence[1];
      const code = [];
      i += 1;
      while (i < lines.length && !(lines[i].trim().startsWith(marker) && !lines[i].trim().slice(marker.length).trim())) {
        code.push(lines[i]);
        i += 1;
      }
      i += 1; // the closing fence (or the end)
      const pre = element("pre", "md-code");
      const codeNode = element("code");
      codeNode.textContent = code.join("\n");
      pre.appendChild(codeNode);
      parent.appendChild(pre);
      continue;
    }
    if (QUOTE.test(line) && depth < MAX_DEPTH) {
      const quoted = [];
      while (i < lines.length && QUOTE.test(lines[i])) {
        quoted.push(lines[i].match(QUOTE)[1]);
        i += 1;
      }
      const quote = element("blockquote");
      blocks(quote, quoted, depth + 1);
      parent.appendChild(quote);
      continue;
    }
    const bullet = BULLET.test(line);
    const numbered = line.match(NUMBERED);
    if (bullet || numbered) {
      const pattern = bullet ? BULLET : NUMBERED;
      const list = element(bullet ? "ul" : "ol");
      if (numbered && numbered[1] !== "1") list.start = Number(numbered[1]);
      let item = null;
      while (i < lines.length && lines[i].trim()) {
        const match = lines[i].match(pattern);
        if (match) {
          item = [bullet ? match[1] : match[2]];
          const node = element("li");
          node.lines = item;
          list.appendChild(node);
        } else if (isBlockStart(lines[i])) {
          break;
        } else {
          item.push(lines[i].trim()); // a continuation of the item
        }
        i += 1;
      }
      list.childNodes.forEach((node) => {
        inline(node, node.lines.join("\n"), depth + 1);
        delete node.lines;
      });
      parent.appendChild(list);
      continue;
    }
    const paragraph = [line];
    i += 1;
    while (i < lines.length && lines[i].trim() && !isBlockStart(lines[i])) {
      paragraph.push(lines[i]);
      i += 1;
    }
    const p = element("p");
    inline(p, paragraph.join("\n"), depth + 1);
    parent.appendChild(p);
  }
}

function isWordChar(ch) {
  return ch !== undefined && /[\p{L}\p{N}]/u.test(ch);
}

// The index of the delimiter closing `delimiter` opened before `from`, or -1: not preceded
// by a space, and for `_` not inside a word (snake_case stays text).
function closing(text, delimiter, from) {
  let at = text.indexOf(delimiter, from);
  while (at !== -1) {
    const before = text[at - 1];
    const after = text[at + delimiter.length];
    const intraword = delimiter[0] === "_" && isWordChar(after);
    // A single * or _ is not one of a pair (**, __): "*a **b** c*".
    const inRun = delimiter.length === 1 && (before === delimiter || after === delimiter);
    if (at > from && !/\s/.test(before) && !intraword && !inRun) return at;
    at = text.indexOf(delimiter, at + 1);
  }
  return -1;
}

// A link to `href` (checked by safeHref): its label drawn as Markdown, or an address as text.
function link(href, label, depth, labelIsAddress) {
  const anchor = element("a", "md-link");
  anchor.href = href;
  anchor.target = "_blank";
  anchor.rel = "noopener noreferrer";
  if (labelIsAddress) anchor.textContent = label;
  else inline(anchor, label, depth + 1, true);
  return anchor;
}

// The characters that may start something other than plain text.
const SPECIAL = new Set(["\\", "`", "*", "_", "~", "[", "<", "h", "H"]);

// Draws `text` (one paragraph or list item) into `parent`; `inLink`: no links inside it.
function inline(parent, text, depth, inLink) {
  let plain = "";
  const flush = () => {
    if (plain) parent.appendChild(document.createTextNode(plain));
    plain = "";
  };
  const add = (node) => {
    flush();
    parent.appendChild(node);
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (!SPECIAL.has(ch)) {
      plain += ch;
      i += 1;
      continue;
    }
    const rest = text.slice(i, i + 2100);
    if (ch === "\\" && i + 1 < text.length && ESCAPABLE.includes(text[i + 1])) {
      plain += text[i + 1];
      i += 2;
      continue;
    }
    if (ch === "`") {
      const run = rest.match(/^`+/)[0];
      const end = text.indexOf(run, i + run.length);
      if (end !== -1 && text[end + run.length] !== "`") {
        let content = text.slice(i + run.length, end).replace(/\n/g, " ");
        if (content.length > 1 && content.startsWith(" ") && content.endsWith(" ")) content = content.slice(1, -1);
        const code = element("code");
        code.textContent = content;
        add(code);
        i = end + run.length;
        continue;
      }
      plain += run;
      i += run.length;
      continue;
    }
    if (depth < MAX_DEPTH) {
      const delimiter = ["**", "__", "~~", "*", "_"].find((d) => rest.startsWith(d));
      const opensWord = delimiter && delimiter[0] === "_" ? !isWordChar(text[i - 1]) : true;
      if (delimiter && opensWord && text[i + delimiter.length] && !/\s/.test(text[i + delimiter.length])) {
        const end = closing(text, delimiter, i + delimiter.length);
        if (end !== -1) {
          const tag = delimiter === "~~" ? "del" : delimiter.length === 2 ? "strong" : "em";
          const node = element(tag);
          inline(node, text.slice(i + delimiter.length, end), depth + 1, inLink);
          add(node);
          i = end + delimiter.length;
          continue;
        }
      }
      if (!inLink && ch === "[") {
        const match = rest.match(/^\[([^\[\]\n]+)\]\(([^()\s]+)\)/);
        const href = match && safeHref(match[2]);
        if (href) {
          add(link(href, match[1], depth));
          i += match[0].length;
          continue;
        }
      }
      if (!inLink && ch === "<") {
        const match = rest.match(/^<([^<>\s]+)>/);
        const href = match && safeHref(match[1]);
        if (href) {
          add(link(href, match[1], depth, true));
          i += match[0].length;
          continue;
        }
      }
      if (!inLink && (ch === "h" || ch === "H") && !isWordChar(text[i - 1])) {
        const match = rest.match(BARE_URL);
        if (match) {
          // A sentence's closing punctuation is not part of the address.
          const address = match[0].replace(/[.,;:!?'")\]]+$/, "");
          const href = safeHref(address);
          if (href) {
            add(link(href, address, depth, true));
            i += address.length;
            continue;
          }
        }
      }
    }
    plain += ch;
    i += 1;
  }
  flush();
}
