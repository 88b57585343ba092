// What a post shows besides its text: the post it replies to (author and first line, or
// that it was deleted), its thread's reply count and newest reply's time, its reactions
// (counts, who reacted on hover), and the Reply and React buttons. Drawn the same in the
// room and in the thread panel; the buttons act through the page's delegated handlers
// (reactions.js, thread.js). Text only ever goes in via textContent.
import { el, formatTime } from "./dom.js";

function replyPreview(replyTo) {
  const preview = el("div", "reply-preview");
  preview.dataset.replyTo = String(replyTo.id);
  fillPreview(preview, replyTo);
  return preview;
}

function fillPreview(preview, replyTo) {
  preview.replaceChildren(el("span", "reply-mark", "\u21aa "));
  preview.classList.toggle("reply-preview--deleted", Boolean(replyTo.deleted));
  if (replyTo.deleted) {
    preview.appendChild(el("span", "reply-excerpt", "a deleted post"));
    preview.title = "Replying to a post that was deleted";
    return;
  }
  preview.appendChild(el("span", "reply-author", replyTo.author));
  preview.appendChild(document.createTextNode(" "));
  preview.appendChild(el("span", "reply-excerpt", replyTo.excerpt));
  preview.title = "Replying to " + replyTo.author;
}

function repliesText(thread) {
  const count = thread.replyCount === 1 ? "1 reply" : thread.replyCount + " replies";
  return thread.lastReplyAt ? count + " \u00b7 last " + formatTime(thread.lastReplyAt) : count;
}

// Who reacted, for the hover: the first names the server keeps, and how many more.
export function reactedBy(reaction) {
  const more = reaction.count - reaction.users.length;
  return reaction.users.join(", ") + (more > 0 ? " and " + more + " more" : "");
}

function reactionButton(reaction, username) {
  const button = el("button", "reaction");
  button.type = "button";
  button.dataset.emoji = reaction.emoji;
  button.dataset.count = String(reaction.count);
  const mine = reaction.users.includes(username);
  button.setAttribute("aria-pressed", mine ? "true" : "false");
  button.title = reactedBy(reaction);
  button.setAttribute("aria-label", reaction.emoji + " " + reaction.count + ": " + reactedBy(reaction));
  button.appendChild(el("span", "reaction-emoji", reaction.emoji));
  button.appendChild(el("span", "reaction-count", String(reaction.count)));
  return button;
}

function foot(item) {
  let footer = item.querySelector(":scope > .post-foot");
  if (footer) return footer;
  footer = el("div", "post-foot");
  footer.appendChild(el("span", "reactions"));
  const link = el("button", "link thread-link");
  link.type = "button";
  link.hidden = true;
  footer.appendChild(link);
  const tools = el("span", "post-tools");
  const reply = el("button", "link post-reply", "Reply");
  reply.type = "button";
  const react = el("button", "link post-react", "React");
  react.type = "button";
  react.setAttribute("aria-haspopup", "true");
  tools.append(reply, react);
  footer.appendChild(tools);
  item.appendChild(footer);
  return footer;
}

// (Re)draws a shown post's extras from `post` (a Post as the API sends it).
export function drawExtras(item, post, username) {
  item.dataset.threadId = post.thread ? String(post.thread.id) : "";
  const old = item.querySelector(":scope > .reply-preview");
  if (post.replyTo) {
    if (old) fillPreview(old, post.replyTo);
    else item.insertBefore(replyPreview(post.replyTo), item.firstChild);
  } else if (old) old.remove();
  const footer = foot(item);
  const reactions = footer.querySelector(".reactions");
  reactions.replaceChildren(...(post.reactions || []).map((reaction) => reactionButton(reaction, username)));
  // A root shows its thread; a reply's thread is its root's, shown there.
  const own = post.thread && String(post.thread.id) === String(post.id) ? post.thread : null;
  updateThread(item, own || { id: post.id, replyCount: 0, lastReplyAt: null });
}

// A thread's counts, on its root's item (if shown).
export function updateThread(item, thread) {
  if (!item) return;
  const link = foot(item).querySelector(".thread-link");
  link.dataset.threadId = String(thread.id);
  link.hidden = !thread.replyCount;
  link.textContent = thread.replyCount ? repliesText(thread) : "";
}

// What replies to `post` show of it, after it was edited or deleted (`excerptMax`: the
// server's cut of a first line).
export function updatePreviews(list, post, excerptMax) {
  const first = (post.body || "").trim().split("\n")[0];
  list.querySelectorAll('.reply-preview[data-reply-to="' + String(post.id).replace(/[^0-9a-z]/g, "") + '"]').forEach((preview) => {
    const excerpt = preview.querySelector(".reply-excerpt");
    const current = excerpt ? excerpt.textContent : "";
    fillPreview(preview, {
      author: post.author,
      deleted: Boolean(post.deleted),
      // The server cut it to its limit; an edit's new first line is cut here the same way.
      excerpt: first.length > excerptMax ? first.slice(0, excerptMax - 1) + "\u2026" : first || current,
    });
  });
}
