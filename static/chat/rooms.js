// The room list: each room's unread count (posts by others since you last read it) and
// whether any of them mention you, kept live over graphql-transport-ws: roomEvents for the
// rooms listed (resumed `after` the position the page was rendered at, so nothing slips
// between) and readStateChanged (reading a room in another tab clears its count here).
(function () {
  "use strict";

  var list = document.querySelector("ul.rooms[data-user-id]");
  if (!list || !window.WebSocket) return;
  var userId = list.dataset.userId;
  var mention = new RegExp("(^|[^\\w@])@" + list.dataset.username.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "([^\\w]|$)", "i");
  var MAX_ROOMS = 45; // the server holds at most 50 operations per connection
  // The server counts at most this many unread posts: that count means "this many or more".
  var COUNT_MAX = Number(list.dataset.countMax) || 100;
  var READ_STATE = "subscription { readStateChanged { roomId lastReadSeq unreadCount mentionCount position } }";
  var ROOM_EVENTS = "subscription($input: RoomEventsInput!){ roomEvents(input:$input){ seq kind post { userId isBot body } } }";

  var rooms = {};
  Array.prototype.forEach.call(list.querySelectorAll("li[data-room-id]"), function (item) {
    // base: the server's counts as of `position` (one snapshot); live: what came after it,
    // by seq, so each post counts once whether the count or the event came first.
    var position = Number(item.dataset.lastSeq) || 0;
    rooms[item.dataset.roomId] = {
      item: item,
      badge: item.querySelector(".unread"),
      seen: position,
      base: { unread: Number(item.dataset.unread) || 0, mentions: Number(item.dataset.mentions) || 0, position: position },
      live: [] // [{ seq, mention }] of others' posts seen live
    };
  });

  function show(room) {
    var unread = room.base.unread;
    var mentions = room.base.mentions;
    room.live.forEach(function (post) {
      if (post.seq > room.base.position) {
        unread += 1;
        if (post.mention) mentions += 1;
      }
    });
    room.badge.hidden = unread <= 0;
    room.badge.textContent = unread >= COUNT_MAX ? COUNT_MAX + "+" : String(unread);
    room.badge.classList.toggle("unread--mention", mentions > 0);
    room.badge.title = mentions > 0 ? "Unread posts, some mentioning you" : "Unread posts";
  }

  function onEvent(room, roomEvent) {
    var seq = Number(roomEvent.seq);
    if (seq <= room.seen) return;
    room.seen = seq;
    var post = roomEvent.post;
    if (roomEvent.kind !== "CREATED" || (!post.isBot && String(post.userId) === userId)) return;
    room.live.push({ seq: seq, mention: mention.test(post.body) });
    show(room);
  }

  var delay = 500;

  function connect() {
    var url = new URL("/graphql/", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    var ws = new WebSocket(url.href, "graphql-transport-ws");
    ws.addEventListener("open", function () {
      ws.send(JSON.stringify({ type: "connection_init", payload: {} }));
    });
    ws.addEventListener("message", function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      if (message.type === "connection_ack") {
        delay = 500;
        ws.send(JSON.stringify({ id: "reads", type: "subscribe", payload: { query: READ_STATE } }));
        Object.keys(rooms).slice(0, MAX_ROOMS).forEach(function (roomId) {
          var input = { roomId: roomId, after: rooms[roomId].seen };
          ws.send(JSON.stringify({ id: "room:" + roomId, type: "subscribe", payload: { query: ROOM_EVENTS, variables: { input: input } } }));
        });
        document.body.dataset.live = "connected";
      } else if (message.type === "next") {
        var data = message.payload && message.payload.data;
        if (!data) return;
        if (data.readStateChanged) {
          var state = data.readStateChanged;
          var room = rooms[state.roomId];
          if (!room) return;
          if (state.position < room.base.position) return; // an older count than the one shown
          room.base = { unread: state.unreadCount, mentions: state.mentionCount, position: state.position };
          room.live = room.live.filter(function (post) { return post.seq > state.position; });
          show(room);
        } else if (data.roomEvents && message.id.indexOf("room:") === 0) {
          var target = rooms[message.id.slice(5)];
          if (target) onEvent(target, data.roomEvents);
        }
      } else if (message.type === "ping") {
        ws.send(JSON.stringify({ type: "pong" }));
      }
    });
    ws.addEventListener("close", function (event) {
      document.body.dataset.live = "reconnecting";
      if (event.code === 4403) return; // the session ended
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    });
  }

  connect();
})();
