// Search: the header's search box asks searchPosts and lists what it finds, newest first, in
// a panel above the posts; the results are a snapshot (they don't follow live changes).
// `limit`: how many results the page asks for.
import { byIds, formatDateTime } from "./dom.js";
import { POST_FIELDS } from "./posts.js";

const SEARCH_POSTS = "query($input: SearchPostsInput!){ searchPosts(input:$input){ " + POST_FIELDS + " } }";

export function roomSearch({ graphql, posts, roomId, limit }) {
  const [form, box, panel, status, list, close] = byIds("search-form", "search-query", "search-results", "search-status", "search-list", "search-close");
  // Bumped by every search and by closing: an answer to an earlier search is dropped.
  let generation = 0;

  // A found post: drawn as in the room, with its date too (it may be from any day).
  function resultElement(post) {
    const item = posts.element(post);
    // A snapshot: edit, delete, reply and react where the post is shown live.
    item.querySelectorAll(".post-actions, .post-tools").forEach((node) => node.remove());
    item.querySelectorAll(".reaction").forEach((node) => { node.disabled = true; });
    const time = item.querySelector("time");
    const when = formatDateTime(post.createdAt);
    if (time && when) time.textContent = when;
    return item;
  }

  // The panel takes room from the posts: a reader at the newest post stays there.
  function showState(state, message) {
    const follow = panel.hidden && posts.nearBottom();
    panel.hidden = false;
    panel.dataset.state = state;
    status.textContent = message;
    if (follow) posts.scrollToBottom();
  }

  function search(text) {
    const asked = ++generation;
    list.replaceChildren();
    showState("searching", "Searching…");
    graphql(SEARCH_POSTS, { input: { roomId: roomId, query: text, limit: limit } }).then(
      (data) => {
        if (asked !== generation) return;
        const found = data.searchPosts;
        const items = document.createDocumentFragment();
        found.forEach((post) => items.appendChild(resultElement(post)));
        list.appendChild(items);
        if (!found.length) showState("none", "No posts found for \u201c" + text.trim() + "\u201d.");
        else if (found.length >= limit) showState("found", "The newest " + found.length + " posts found; add words to narrow the search.");
        else showState("found", (found.length === 1 ? "1 post" : found.length + " posts") + " found, newest first.");
      },
      (failure) => {
        if (asked !== generation) return;
        showState("error", failure.message || "The search failed; try again.");
      }
    );
  }

  function closeResults() {
    generation++;
    panel.hidden = true;
    delete panel.dataset.state;
    status.textContent = "";
    list.replaceChildren();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    search(box.value);
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !panel.hidden) {
      event.preventDefault();
      closeResults();
    }
  });
  close.addEventListener("click", () => {
    closeResults();
    box.focus();
  });
}
