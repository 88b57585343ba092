// The thread panel: one conversation of a busy room beside it. "Reply" on a post, or its
// "N replies" line, opens the post's thread (the `thread` query: its root, then its replies,
// the newest page first, "Older replies" for more); it follows the thread live through the
// room's events (room-stream.js hands each one to `roomEvent`), and its box sends replies
// (createPost with replyTo: the post "Reply" was pressed on, else the thread's root).
import { byIds, formatDateTime } from "./dom.js";
import { composer } from "./composer.js";
import { updatePreviews, updateThread } from "./post-extras.js";
import { POST_FIELDS, seqOf } from "./posts.js";

const THREAD = "query($input: ThreadInput!){ thread(input:$input){ " + POST_FIELDS + " deleted } }";

export function threadPanel({ graphql, posts, roomId, pageSize, locked }) {
  const [panel, status, older, list, form, box, replying, sendError, close] = byIds(
    "thread-panel", "thread-status", "thread-older", "thread-posts", "thread-form", "thread-body",
    "thread-replying", "thread-send-error", "thread-close"
  );
  const scroller = list.parentElement;
  let rootId = null;
  let answering = null; // the post a reply answers: { id, author }
  let generation = 0;

  function byId(id) {
    return list.querySelector('li.post[data-post-id="' + String(id).replace(/[^0-9a-z]/g, "") + '"]');
  }

  function inThread(post) {
    return rootId !== null && (String(post.id) === rootId || (post.thread && String(post.thread.id) === rootId));
  }

  // A post as the room draws it, with its date (a thread may span days); a deleted root
  // stays, saying so.
  function element(post) {
    const item = posts.element(post);
    const time = item.querySelector("time");
    const when = formatDateTime(post.createdAt);
    if (time && when) time.textContent = when;
    if (post.deleted) {
      item.classList.add("post--deleted");
      item.querySelector(".body").textContent = "This post was deleted.";
      item.querySelectorAll(".post-actions, .post-tools").forEach((node) => node.remove());
    }
    return item;
  }

  // Puts `post` in its place by seq, once; an older copy is replaced.
  function show(post) {
    const old = byId(post.id);
    if (old) {
      old.replaceWith(element(post));
      return;
    }
    const seq = Number(post.seq);
    const shown = list.querySelectorAll("li.post");
    let i = shown.length - 1;
    while (i >= 0 && seqOf(shown[i]) > seq) i--;
    const follow = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    list.insertBefore(element(post), i + 1 < shown.length ? shown[i + 1] : null);
    if (follow) scroller.scrollTop = scroller.scrollHeight;
  }

  function setAnswering(post) {
    answering = post;
    replying.textContent = post ? "Replying to " + post.author : "";
    box.placeholder = post ? "Reply to " + post.author : "Reply";
  }

  function load(page, asked) {
    if (asked !== generation) return;
    page.forEach(show);
    older.hidden = page.length < pageSize;
    const root = byId(rootId);
    if (root && !answering) setAnswering({ id: rootId, author: root.querySelector(".author").textContent });
    status.textContent = "";
  }

  function fetchPage(cursor) {
    const asked = generation;
    const input = Object.assign({ postId: rootId, limit: pageSize }, cursor);
    return graphql(THREAD, { input: input }).then(
      (data) => load(data.thread, asked),
      (failure) => {
        if (asked === generation) status.textContent = failure.message || "The thread could not be loaded.";
      }
    );
  }

  // Opens the thread of `item` (a shown post), answering it.
  function open(item) {
    const follow = posts.nearBottom();
    generation++;
    rootId = item.dataset.threadId || item.dataset.postId;
    list.replaceChildren();
    setAnswering(null);
    if (!item.classList.contains("post--deleted") && !item.closest("#thread-posts")) {
      const author = item.querySelector(".post-meta .author");
      setAnswering({ id: item.dataset.postId, author: author ? author.textContent : "" });
    }
    panel.hidden = false;
    document.body.classList.add("thread-open");
    status.textContent = "Loading the thread…";
    if (follow) posts.scrollToBottom();
    fetchPage({}).then(() => {
      scroller.scrollTop = scroller.scrollHeight;
      if (!locked) box.focus();
    });
  }

  function closePanel() {
    generation++;
    rootId = null;
    panel.hidden = true;
    document.body.classList.remove("thread-open");
    list.replaceChildren();
    setAnswering(null);
  }

  older.addEventListener("click", () => {
    const first = list.querySelector("li.post");
    if (first) fetchPage({ before: seqOf(first) });
  });
  close.addEventListener("click", closePanel);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closePanel();
  });
  // "Reply" and "N replies", on a post of the room or of the panel ("N replies" also on a
  // search result).
  [posts.list, list, document.getElementById("search-list")].forEach((container) => {
    container.addEventListener("click", (event) => {
      const target = event.target.closest("button.post-reply, button.thread-link");
      if (!target) return;
      const item = target.closest("li.post");
      if (target.classList.contains("post-reply") && item.closest("#thread-posts")) {
        // In the panel: answer that post, in the same thread.
        setAnswering({ id: item.dataset.postId, author: item.querySelector(".post-meta .author").textContent });
        box.focus();
        return;
      }
      if (item) open(item);
    });
  });
  composer({ graphql: graphql, form: form, box: box, roomId: roomId, sendError: sendError, replyTo: () => (answering ? answering.id : rootId) });

  return {
    // A room event (live or replayed): the thread's posts as they are now.
    roomEvent(roomEvent) {
      if (rootId === null) return;
      const post = roomEvent.post;
      updatePreviews(list, post, posts.excerptMax);
      if (!inThread(post)) return;
      if (roomEvent.kind === "DELETED" && String(post.id) !== rootId) {
        const item = byId(post.id);
        if (item) item.remove();
      } else if (roomEvent.kind === "CREATED" || byId(post.id)) show(post);
      if (post.thread) {
        const root = byId(rootId);
        if (root && String(post.id) !== rootId) updateThread(root, post.thread);
      }
    },
    // After the room's history was reloaded (too far behind to replay): read it again.
    reload() {
      if (rootId === null) return;
      generation++;
      list.replaceChildren();
      fetchPage({});
    },
  };
}
