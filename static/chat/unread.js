// Unread counts on the room list: each room's count of posts by others since you last read
// it, and whether any of them mention you. The server's counts as of a position are the
// base; the room's live events after that position add to it, each post once whichever of
// the count and the event came first. A muted room's count is grey, never red; the tab's
// title shows the unread posts of the rooms not muted.
import { mentionPattern } from "./attention.js";

export const READ_STATE = "subscription { readStateChanged { roomId lastReadSeq unreadCount mentionCount muted position } }";
export const ROOM_EVENTS = "subscription($input: RoomEventsInput!){ roomEvents(input:$input){ seq kind post { id userId author isBot body } } }";

// countMax: the server counts at most this many unread posts; that count means "this many or more".
// setTitle(n): shows the unread count of the rooms not muted; noticed(room, post, mentioned):
// a post by someone else arrived live.
export function unreadCounts({ items, userId, username, countMax, setTitle, noticed }) {
  const mention = mentionPattern(username);
  const rooms = {};
  items.forEach((item) => {
    const position = Number(item.dataset.lastSeq) || 0;
    const name = item.querySelector(".room-name");
    rooms[item.dataset.roomId] = {
      id: item.dataset.roomId,
      item: item,
      name: name ? name.textContent : item.dataset.roomId,
      direct: item.dataset.direct === "true",
      muted: item.dataset.muted === "true",
      badge: item.querySelector(".unread"),
      seen: position, // the newest event position counted
      base: { unread: Number(item.dataset.unread) || 0, mentions: Number(item.dataset.mentions) || 0, position: position },
      live: [], // [{ seq, mention }] of others' posts seen live
      unread: Number(item.dataset.unread) || 0,
    };
  });

  function showTotal() {
    let total = 0;
    Object.values(rooms).forEach((room) => { if (!room.muted) total += room.unread; });
    setTitle(total);
  }

  function show(room) {
    let unread = room.base.unread;
    let mentions = room.base.mentions;
    room.live.forEach((post) => {
      if (post.seq > room.base.position) {
        unread += 1;
        if (post.mention) mentions += 1;
      }
    });
    room.unread = unread;
    room.item.dataset.muted = room.muted ? "true" : "false";
    const mutedMark = room.item.querySelector(".badge--muted");
    if (mutedMark) mutedMark.hidden = !room.muted;
    room.badge.hidden = unread <= 0;
    room.badge.textContent = unread >= countMax ? countMax + "+" : String(unread);
    room.badge.classList.toggle("unread--mention", mentions > 0 && !room.muted);
    room.badge.classList.toggle("unread--muted", room.muted);
    room.badge.title = room.muted ? "Unread posts (muted)" : mentions > 0 ? "Unread posts, some mentioning you" : "Unread posts";
    showTotal();
  }

  showTotal();
  return {
    roomIds: Object.keys(rooms),
    // Where a room's events resume: after the newest one counted.
    after: (roomId) => rooms[roomId].seen,
    // A roomEvents event of `roomId`.
    event(roomId, roomEvent) {
      const room = rooms[roomId];
      const seq = Number(roomEvent.seq);
      if (!room || seq <= room.seen) return;
      room.seen = seq;
      const post = roomEvent.post;
      if (roomEvent.kind !== "CREATED" || (!post.isBot && String(post.userId) === userId)) return;
      const mentioned = mention.test(post.body);
      room.live.push({ seq: seq, mention: mentioned });
      show(room);
      noticed(room, post, mentioned);
    },
    // A readStateChanged: the server's counts as of state.position (and whether it is muted).
    read(state) {
      const room = rooms[state.roomId];
      if (!room || state.position < room.base.position) return; // an older count than the one shown
      room.base = { unread: state.unreadCount, mentions: state.mentionCount, position: state.position };
      room.live = room.live.filter((post) => post.seq > state.position);
      if (typeof state.muted === "boolean") room.muted = state.muted;
      show(room);
    },
  };
}
