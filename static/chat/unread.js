// Unread counts on the room list: each room's count of posts by others since you last read
// it, and whether any of them mention you. The server's counts as of a position are the
// base; the room's live events after that position add to it, each post once whichever of
// the count and the event came first.
export const READ_STATE = "subscription { readStateChanged { roomId lastReadSeq unreadCount mentionCount position } }";
export const ROOM_EVENTS = "subscription($input: RoomEventsInput!){ roomEvents(input:$input){ seq kind post { userId isBot body } } }";

// countMax: the server counts at most this many unread posts; that count means "this many or more".
export function unreadCounts({ items, userId, username, countMax }) {
  const mention = new RegExp("(^|[^\\w@])@" + username.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "([^\\w]|$)", "i");
  const rooms = {};
  items.forEach((item) => {
    const position = Number(item.dataset.lastSeq) || 0;
    rooms[item.dataset.roomId] = {
      badge: item.querySelector(".unread"),
      seen: position, // the newest event position counted
      base: { unread: Number(item.dataset.unread) || 0, mentions: Number(item.dataset.mentions) || 0, position: position },
      live: [], // [{ seq, mention }] of others' posts seen live
    };
  });

  function show(room) {
    let unread = room.base.unread;
    let mentions = room.base.mentions;
    room.live.forEach((post) => {
      if (post.seq > room.base.position) {
        unread += 1;
        if (post.mention) mentions += 1;
      }
    });
    room.badge.hidden = unread <= 0;
    room.badge.textContent = unread >= countMax ? countMax + "+" : String(unread);
    room.badge.classList.toggle("unread--mention", mentions > 0);
    room.badge.title = mentions > 0 ? "Unread posts, some mentioning you" : "Unread posts";
  }

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
      room.live.push({ seq: seq, mention: mention.test(post.body) });
      show(room);
    },
    // A readStateChanged: the server's counts as of state.position.
    read(state) {
      const room = rooms[state.roomId];
      if (!room || state.position < room.base.position) return; // an older count than the one shown
      room.base = { unread: state.unreadCount, mentions: state.mentionCount, position: state.position };
      room.live = room.live.filter((post) => post.seq > state.position);
      show(room);
    },
  };
}
