// Older history: near the top of the scroller the page asks for the posts before the oldest
// one shown (`posts(before: <its seq>)`), one page at a time, and puts them above it without
// moving what the reader is looking at. A page shorter than `pageSize` (the most the server
// gives at once) is the room's beginning. `latest()` is the newest page, for a reload.
import { byIds } from "./dom.js";
import { POST_FIELDS, seqOf } from "./posts.js";

const POSTS = "query($input: PostsInput!){ posts(input:$input){ " + POST_FIELDS + " } }";
// Scrolled this close to the top, the next older page is asked for.
const OLDER_THRESHOLD_PX = 300;

export function olderHistory({ graphql, posts, roomId, pageSize }) {
  const [start, loading, error, errorText, retry] = byIds("history-start", "history-loading", "history-error", "history-error-text", "history-retry");
  // loading: one page on its way (never two); done: the room's first post is shown; failed:
  // waits for "Try again"; generation: a page asked for before the history was replaced is
  // dropped when it arrives.
  const older = { loading: false, done: false, failed: false, generation: 0 };

  function showState() {
    posts.keepingPosition(() => {
      loading.hidden = !older.loading;
      start.hidden = !older.done;
      error.hidden = !older.failed;
    });
  }

  // The shown history was (re)loaded with `count` posts, the newest of the room.
  function restart(count) {
    older.generation++;
    older.loading = false;
    older.failed = false;
    older.done = count < pageSize;
    showState();
  }

  function loadIfNearTop() {
    if (older.loading || older.done || older.failed) return;
    if (posts.scroller.scrollTop > OLDER_THRESHOLD_PX) return;
    load();
  }

  function load() {
    const oldest = posts.oldest();
    if (!oldest) return; // nothing shown: the live posts will be the room's first
    const before = seqOf(oldest);
    const generation = older.generation;
    older.loading = true;
    showState();
    graphql(POSTS, { input: { roomId: roomId, before: before, limit: pageSize } }).then(
      (data) => {
        if (generation !== older.generation) return;
        older.loading = false;
        older.done = data.posts.length < pageSize;
        posts.showOlder(data.posts, before, () => {
          loading.hidden = true;
          start.hidden = !older.done;
          error.hidden = true;
        });
        loadIfNearTop(); // a short page or a tall screen: still at the top
      },
      (failure) => {
        if (generation !== older.generation) return;
        older.loading = false;
        older.failed = true;
        errorText.textContent = "Could not load older posts: " + (failure.message || "try again.");
        showState();
      }
    );
  }

  posts.scroller.addEventListener("scroll", loadIfNearTop, { passive: true });
  retry.addEventListener("click", () => {
    if (older.loading) return;
    older.failed = false;
    showState();
    load();
  });

  return {
    restart: restart,
    loadIfNearTop: loadIfNearTop,
    latest: () => graphql(POSTS, { input: { roomId: roomId, limit: pageSize } }).then((data) => data.posts),
  };
}
