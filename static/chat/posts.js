// The room's posts as shown: drawing a post (its text as Markdown, markdown.js), putting it
// in its place (by seq, each once, whatever path it came by), edits, deletions and reactions,
// the history reloaded, bot-error notices, and the scroller that follows the newest post
// while the reader is at it.
import { el, formatTime } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { drawExtras, updatePreviews, updateThread } from "./post-extras.js";

// What the page asks of every post it shows.
export const POST_FIELDS =
  "id roomId seq userId author body isBot createdAt editedAt " +
  "replyTo { id author excerpt deleted } thread { id replyCount lastReplyAt } reactions { emoji count users }";

// Nearer the bottom than this, the reader is "at the newest post": new posts scroll into view.
const FOLLOW_DISTANCE_PX = 80;

// A post's position in its room: the same for every reader, increasing (gaps allowed).
export function seqOf(node) {
  return Number(node.dataset.seq);
}

// Draws a post's text (its Markdown subset, markdown.js) in its .body, keeping the text as
// sent for whoever needs it (the editor): postText(body).
export function drawBody(body, text) {
  body.rawText = text;
  body.replaceChildren(renderMarkdown(text));
}

export function postText(body) {
  return body.rawText !== undefined ? body.rawText : body.textContent;
}

export class PostList {
  // decorate(item): adds the controls a shown post gets (set by the editing module).
  // username: the reader's (their own reactions show pressed); excerptMax: how much of a
  // post's first line a reply shows.
  constructor({ roomId, userId, username, excerptMax, list, scroller, noPosts }) {
    this.roomId = roomId;
    this.userId = userId;
    this.username = username;
    this.excerptMax = excerptMax;
    this.list = list;
    this.scroller = scroller;
    this.noPosts = noPosts;
    this.decorate = () => {};
  }

  shown() {
    return this.list.querySelectorAll("li.post");
  }

  oldest() {
    return this.list.querySelector("li.post");
  }

  // Where the live stream resumes: the newest position shown, 0 when nothing is shown (so
  // posts made while the page loaded still arrive).
  newestSeq() {
    const posts = this.shown();
    return posts.length ? seqOf(posts[posts.length - 1]) : 0;
  }

  byId(id) {
    return this.list.querySelector('li.post[data-post-id="' + String(id).replace(/[^0-9a-z]/g, "") + '"]');
  }

  nearBottom() {
    const scroller = this.scroller;
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < FOLLOW_DISTANCE_PX;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  // Runs `change` (which adds or shows things above the shown posts) and scrolls by what it
  // added, so the posts on screen stay where they were.
  keepingPosition(change) {
    const anchor = this.oldest();
    const top = anchor ? anchor.getBoundingClientRect().top : 0;
    change();
    if (anchor && anchor.isConnected) this.scroller.scrollTop += anchor.getBoundingClientRect().top - top;
  }

  isMine(post) {
    return !post.isBot && post.userId !== null && post.userId !== undefined && String(post.userId) === this.userId;
  }

  // The author's name; someone else's links to a direct message with them (/dm/<username>/).
  authorElement(post) {
    const author = el("span", "author");
    if (post.isBot || post.userId == null || String(post.userId) === this.userId) {
      author.textContent = post.author;
      return author;
    }
    const link = el("a", null, post.author);
    link.href = "/dm/" + encodeURIComponent(post.author) + "/";
    link.title = "Direct message with " + post.author;
    author.appendChild(link);
    return author;
  }

  element(post) {
    const item = el("li", "post");
    if (post.isBot) item.classList.add("post--bot");
    else if (this.isMine(post)) item.classList.add("post--mine");
    item.dataset.postId = String(post.id);
    item.dataset.seq = String(post.seq);
    const meta = el("div", "post-meta");
    meta.appendChild(this.authorElement(post));
    if (post.isBot) {
      meta.appendChild(document.createTextNode(" "));
      meta.appendChild(el("span", "badge badge--bot", "bot"));
    }
    meta.appendChild(document.createTextNode(" "));
    const time = el("time", null, formatTime(post.createdAt));
    time.setAttribute("datetime", post.createdAt);
    meta.appendChild(time);
    item.appendChild(meta);
    const body = el("div", "body");
    drawBody(body, post.body);
    item.appendChild(body);
    item.dataset.createdAt = post.createdAt;
    markEdited(item, post.editedAt);
    drawExtras(item, post, this.username);
    this.decorate(item);
    return item;
  }

  // Shows a post once (by seq, and by id), in seq order, whatever path it came by; true if
  // it was not shown before.
  show(post) {
    if (String(post.roomId) !== this.roomId) return false;
    const seq = Number(post.seq);
    const id = String(post.id);
    const posts = this.shown();
    let i = posts.length - 1;
    while (i >= 0 && seqOf(posts[i]) > seq) i--;
    if (i >= 0 && seqOf(posts[i]) === seq) return false;
    for (const node of posts) if (node.dataset.postId === id) return false;
    const follow = this.nearBottom();
    this.list.insertBefore(this.element(post), i + 1 < posts.length ? posts[i + 1] : null);
    this.noPosts.hidden = true;
    if (follow) this.scrollToBottom();
    return true;
  }

  // Older posts (all before `before`) go above the oldest shown, in seq order, each once;
  // `shownAlso` runs in the same step (the history edge's state).
  showOlder(posts, before, shownAlso) {
    const shown = new Set(Array.from(this.shown(), (node) => node.dataset.postId));
    const items = document.createDocumentFragment();
    posts.forEach((post) => {
      const id = String(post.id);
      if (String(post.roomId) !== this.roomId || Number(post.seq) >= before || shown.has(id)) return;
      shown.add(id);
      items.appendChild(this.element(post));
    });
    this.keepingPosition(() => {
      this.list.insertBefore(items, this.oldest() || this.list.firstChild);
      shownAlso();
    });
  }

  // An edit or a reaction, live or replayed: the post as it is now (its text, its
  // reactions, its thread's counts), and what replies to it show of it.
  apply(post) {
    this.threadChanged(post.thread);
    updatePreviews(this.list, post, this.excerptMax);
    const item = this.byId(post.id);
    if (!item) return;
    const body = item.querySelector(".body");
    if (body) drawBody(body, post.body);
    markEdited(item, post.editedAt);
    drawExtras(item, post, this.username);
  }

  // A thread's new counts (a reply came or went): shown on its root.
  threadChanged(thread) {
    if (thread) updateThread(this.byId(thread.id), thread);
  }

  // A deleted post goes; replies to it show that it was deleted; its thread's count drops.
  remove(id, post) {
    const item = this.byId(id);
    if (item) item.remove();
    if (post) {
      updatePreviews(this.list, post, this.excerptMax);
      this.threadChanged(post.thread);
    }
    this.noPosts.hidden = this.list.children.length > 0;
  }

  // The newest history instead of what was shown (after too long away to replay it all).
  // Notices of failed requests stay, after the posts.
  replace(posts) {
    this.shown().forEach((node) => node.remove());
    const items = document.createDocumentFragment();
    posts.forEach((post) => {
      if (String(post.roomId) === this.roomId) items.appendChild(this.element(post));
    });
    this.list.insertBefore(items, this.list.firstChild);
    this.noPosts.hidden = this.list.children.length > 0;
    this.scrollToBottom();
  }

  // A bot error: only this user's connections receive it; it is a notice, not a post.
  showError(error) {
    if (String(error.roomId) !== this.roomId) return;
    const follow = this.nearBottom();
    const item = el("li", "post-error");
    item.setAttribute("role", "alert");
    item.appendChild(el("span", "post-error-title", "Only you can see this: nothing was posted"));
    item.appendChild(el("code", "post-error-body", error.body));
    item.appendChild(el("span", "post-error-reason", error.reason));
    const dismiss = el("button", "link post-error-dismiss", "Dismiss");
    dismiss.type = "button";
    dismiss.addEventListener("click", () => item.remove());
    item.appendChild(dismiss);
    this.list.appendChild(item);
    this.noPosts.hidden = true;
    if (follow) this.scrollToBottom();
  }

  // The posts the server rendered: times in the reader's own zone (the server's are UTC),
  // and the same marks and controls as the ones drawn here; what the server sent of each
  // one's replies and reactions is its data-extras (JSON, see web/views.py).
  adoptRendered() {
    this.list.querySelectorAll("time[datetime]").forEach((node) => {
      node.textContent = formatTime(node.getAttribute("datetime"));
    });
    this.shown().forEach((item) => {
      const time = item.querySelector("time[datetime]");
      if (time) item.dataset.createdAt = time.getAttribute("datetime");
      const body = item.querySelector(".body");
      if (body) drawBody(body, body.textContent);
      markEdited(item, item.dataset.editedAt);
      if (item.dataset.extras) drawExtras(item, Object.assign({ id: item.dataset.postId }, JSON.parse(item.dataset.extras)), this.username);
      this.decorate(item);
    });
    this.scrollToBottom();
  }
}

export function markEdited(item, editedAt) {
  const meta = item.querySelector(".post-meta");
  if (!editedAt || !meta || meta.querySelector(".edited")) return;
  const mark = el("span", "edited", "(edited)");
  mark.title = "Edited " + formatTime(editedAt);
  meta.appendChild(document.createTextNode(" "));
  meta.appendChild(mark);
}
