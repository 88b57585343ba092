// The room page: send with createPost over HTTP, receive over graphql-transport-ws
// (room-stream.js). What the page needs from the server, the limits it enforces included,
// comes in data- attributes of #main. Text only ever goes in via textContent.
import { notificationButton, roomAttention } from "./attention.js";
import { dataNumber } from "./dom.js";
import { composer } from "./composer.js";
import { postEditing } from "./editing.js";
import { httpClient } from "./graphql.js";
import { olderHistory } from "./history.js";
import { PostList } from "./posts.js";
import { presenceLine } from "./presence.js";
import { postReactions } from "./reactions.js";
import { muteButton } from "./mute.js";
import { readState } from "./read-state.js";
import { roomStream } from "./room-stream.js";
import { roomSearch } from "./search.js";
import { threadPanel } from "./thread.js";
import { typingLine } from "./typing.js";

const main = document.getElementById("main");
const roomId = main.dataset.roomId;
const userId = main.dataset.userId;
const graphqlUrl = main.dataset.graphqlUrl;
const form = document.getElementById("post-form");
const box = document.getElementById("post-body");
const graphql = httpClient(graphqlUrl, form.querySelector("input[name=csrfmiddlewaretoken]").value);

const posts = new PostList({
  roomId: roomId,
  userId: userId,
  username: main.dataset.username,
  excerptMax: dataNumber(main, "excerptMax"),
  list: document.getElementById("posts"),
  scroller: document.getElementById("scroller"),
  noPosts: document.getElementById("no-posts"),
});
posts.decorate = postEditing({
  graphql: graphql,
  posts: posts,
  isModerator: main.dataset.moderator === "true",
  editWindowMs: dataNumber(main, "editWindow") * 1000,
  maxLength: box.maxLength, // the textarea's maxlength: the server's POST_MAX_LENGTH
});
const reads = readState({ graphql: graphql, posts: posts, roomId: roomId, intervalMs: dataNumber(main, "markReadInterval") * 1000 });
const typing = typingLine({ graphql: graphql, box: box, roomId: roomId, userId: userId, intervalMs: dataNumber(main, "typingInterval") * 1000 });
const history = olderHistory({ graphql: graphql, posts: posts, roomId: roomId, pageSize: dataNumber(main, "historyLimit") });
roomSearch({ graphql: graphql, posts: posts, roomId: roomId, limit: dataNumber(main, "searchLimit") });
composer({ graphql: graphql, form: form, box: box, roomId: roomId });
const thread = threadPanel({ graphql: graphql, posts: posts, roomId: roomId, pageSize: dataNumber(main, "historyLimit"), locked: box.disabled });
postReactions({
  graphql: graphql,
  containers: [posts.list, document.getElementById("thread-posts")],
  emoji: main.dataset.reactionEmoji.split(" "),
  username: main.dataset.username,
});
const attention = roomAttention({
  roomId: roomId,
  roomName: main.dataset.roomName,
  userId: userId,
  username: main.dataset.username,
  direct: main.dataset.direct === "true",
  muted: main.dataset.muted === "true",
});
muteButton({ graphql: graphql, button: document.getElementById("mute-button"), roomId: roomId, muted: main.dataset.muted === "true", changed: attention.setMuted });
notificationButton(document.getElementById("notify-button"));

posts.adoptRendered();
reads.schedule();
history.restart(posts.shown().length);
history.loadIfNearTop();
roomStream({ graphqlUrl: graphqlUrl, roomId: roomId, posts: posts, history: history, reads: reads, typing: typing, showPresence: presenceLine(), thread: thread, attention: attention });
