// The room page's live connection: on every (re)connect it resumes with
// roomEvents(after: <newest position seen>): the server sends what was missed (posts, edits,
// deletions, reactions), then the live events, none twice. Too far behind to replay, it reloads the
// newest history and resumes from there. Also this user's bot errors, typing and presence,
// and each new post to the attention it may need (a notification, the title's count).
import { Backoff, liveConnection } from "./graphql.js";
import { POST_FIELDS } from "./posts.js";
import { PRESENCE } from "./presence.js";
import { TYPING } from "./typing.js";

const ROOM_EVENTS = "subscription($input: RoomEventsInput!){ roomEvents(input:$input){ seq kind post { " + POST_FIELDS + " deleted } } }";
const POST_ERROR = "subscription { postError { requestId roomId userId body reason } }";

// attention.posted(post): a post shown for the first time (attention.js).
export function roomStream({ graphqlUrl, roomId, posts, history, reads, typing, showPresence, thread, attention }) {
  const connection = document.getElementById("connection");
  const reloadBackoff = new Backoff();
  let reloadTimer = null;
  // The live posts subscription on this connection: { after, reloaded, delivered }.
  let postsStream = null;

  function setState(state, text) {
    connection.dataset.state = state;
    connection.textContent = text;
  }

  // The server ended a stream: start over on a fresh connection.
  function restartOnComplete(session) {
    return () => session.close(1000, "Subscription completed");
  }

  function onRoomEvent(roomEvent) {
    if (postsStream) postsStream.delivered = true;
    if (roomEvent.kind === "CREATED") {
      if (posts.show(roomEvent.post)) attention.posted(roomEvent.post);
      posts.threadChanged(roomEvent.post.thread);
      typing.posted(roomEvent.post);
    } else if (roomEvent.kind === "EDITED" || roomEvent.kind === "REACTED") posts.apply(roomEvent.post);
    else if (roomEvent.kind === "DELETED") posts.remove(roomEvent.post.id, roomEvent.post);
    thread.roomEvent(roomEvent);
    reads.seen(Number(roomEvent.seq));
  }

  // The room's posts after `after` (what was missed), then the live ones; `after` null: live
  // only. `reloaded`: subscribed right after reloading the history.
  function subscribePosts(session, after, reloaded) {
    postsStream = { after: after, reloaded: reloaded, delivered: false };
    const input = { roomId: roomId };
    if (after !== null) input.after = after;
    session.subscribe("posts", ROOM_EVENTS, { input: input }, {
      next: (data) => { if (data.roomEvents) onRoomEvent(data.roomEvents); },
      error: (first) => {
        const code = first.extensions && first.extensions.code;
        if (code === "TOO_FAR_BEHIND" && postsStream) reloadHistory(session, postsStream);
        else setState("error", "Live updates are off: " + (first.message || "the subscription failed") + ".");
      },
      complete: restartOnComplete(session),
    });
  }

  // Too many posts were missed to replay: show the newest history instead, then resume
  // from its newest post. Retried with a growing delay while this connection lasts.
  function reloadHistory(session, failed) {
    clearTimeout(reloadTimer);
    reloadTimer = null;
    postsStream = null;
    setState("reconnecting", "Catching up: loading the latest posts…");
    history.latest().then(
      (latest) => {
        if (!session.live) return; // the next connection resumes (and reloads) on its own
        reloadBackoff.reset();
        posts.replace(latest);
        thread.reload();
        reads.reloaded();
        history.restart(latest.length);
        const after = posts.newestSeq();
        // Refused again at once from the same place: the room's newest posts were removed,
        // so no shown post is close enough to resume from. Go on with the live posts only.
        const stuck = failed.reloaded && !failed.delivered && failed.after === after;
        subscribePosts(session, stuck ? null : after, true);
        setState("connected", "Live");
      },
      (failure) => {
        if (!session.live) return;
        const wait = reloadBackoff.next();
        setState("reconnecting", "Could not load the latest posts: " + failure.message + " Retrying in " + Math.ceil(wait / 1000) + " s…");
        reloadTimer = setTimeout(() => {
          if (session.live) reloadHistory(session, failed);
        }, wait);
      }
    );
  }

  liveConnection(graphqlUrl, {
    connected(session) {
      reloadBackoff.reset();
      subscribePosts(session, reads.resumePosition(), false);
      const room = { input: { roomId: roomId } };
      const complete = restartOnComplete(session);
      session.subscribe("errors", POST_ERROR, null, { next: (data) => data.postError && posts.showError(data.postError), complete: complete });
      session.subscribe("typing", TYPING, room, { next: (data) => data.typing && typing.someone(data.typing), complete: complete });
      session.subscribe("presence", PRESENCE, room, { next: (data) => data.presenceChanged && showPresence(data.presenceChanged), complete: complete });
    },
    lost() {
      clearTimeout(reloadTimer);
      postsStream = null;
    },
    state(name, waitMs) {
      if (name === "connected") setState("connected", "Live");
      else if (name === "closed") setState("closed", "Not connected: your session has ended. Reload the page to log in again.");
      else if (waitMs === null) setState("reconnecting", "Connection lost. Reconnecting…");
      else setState("reconnecting", "Connection lost. Reconnecting in " + Math.ceil(waitMs / 1000) + " s…");
    },
  });
}
