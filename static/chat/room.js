// The room page: send with createPost over HTTP, receive over graphql-transport-ws. On every
// (re)connect the page resumes with postCreated(after: <newest seq shown>): the server sends
// what was missed, then the live posts, none twice. Text only ever goes in via textContent.
(function () {
  "use strict";

  var main = document.getElementById("main");
  var roomId = main.dataset.roomId;
  var userId = main.dataset.userId;
  var graphqlUrl = main.dataset.graphqlUrl;
  var historyLimit = parseInt(main.dataset.historyLimit, 10) || 50;

  var list = document.getElementById("posts");
  var scroller = document.getElementById("scroller");
  var noPosts = document.getElementById("no-posts");
  var connection = document.getElementById("connection");
  var form = document.getElementById("post-form");
  var box = document.getElementById("post-body");
  var sendError = document.getElementById("send-error");
  var csrfToken = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  var POST_FIELDS = "id roomId seq userId author body isBot createdAt";
  var CREATE_POST = "mutation($input: CreatePostInput!){ createPost(input:$input){ success requestId } }";
  var POSTS = "query($input: PostsInput!){ posts(input:$input){ " + POST_FIELDS + " } }";
  var POST_CREATED = "subscription($input: PostCreatedInput!){ postCreated(input:$input){ " + POST_FIELDS + " } }";
  var POST_ERROR = "subscription { postError { requestId roomId userId body reason } }";

  var MIN_DELAY_MS = 500;
  var MAX_DELAY_MS = 10000;
  var ACK_TIMEOUT_MS = 5000;

  // ---- rendering -------------------------------------------------------------------

  var timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

  function formatTime(iso) {
    var date = new Date(iso);
    return isNaN(date) ? "" : timeFormat.format(date);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A post's position in its room: the same for every reader, increasing (gaps allowed).
  function seqOf(node) {
    return Number(node.dataset.seq);
  }

  function shownPosts() {
    return list.querySelectorAll("li.post");
  }

  // Where the live stream resumes: the newest position shown, 0 when nothing is shown (so
  // posts made while the page loaded still arrive).
  function newestSeq() {
    var posts = shownPosts();
    return posts.length ? seqOf(posts[posts.length - 1]) : 0;
  }

  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  function scrollToBottom() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  function postElement(post) {
    var item = el("li", "post");
    if (post.isBot) item.classList.add("post--bot");
    else if (post.userId !== null && String(post.userId) === userId) item.classList.add("post--mine");
    item.dataset.postId = String(post.id);
    item.dataset.seq = String(post.seq);
    var meta = el("div", "post-meta");
    meta.appendChild(el("span", "author", post.author));
    if (post.isBot) {
      meta.appendChild(document.createTextNode(" "));
      meta.appendChild(el("span", "badge badge--bot", "bot"));
    }
    meta.appendChild(document.createTextNode(" "));
    var time = el("time", null, formatTime(post.createdAt));
    time.setAttribute("datetime", post.createdAt);
    meta.appendChild(time);
    item.appendChild(meta);
    item.appendChild(el("p", "body", post.body));
    return item;
  }

  // Shows a post once (by seq, and by id), in seq order, whatever path it came by.
  function showPost(post) {
    if (String(post.roomId) !== roomId) return;
    var seq = Number(post.seq);
    var id = String(post.id);
    var posts = shownPosts();
    var i = posts.length - 1;
    while (i >= 0 && seqOf(posts[i]) > seq) i--;
    if (i >= 0 && seqOf(posts[i]) === seq) return;
    for (var j = 0; j < posts.length; j++) if (posts[j].dataset.postId === id) return;
    var follow = nearBottom();
    list.insertBefore(postElement(post), i + 1 < posts.length ? posts[i + 1] : null);
    noPosts.hidden = true;
    if (follow) scrollToBottom();
  }

  // The newest history instead of what was shown (after too long away to replay it all).
  // Notices of failed requests stay, after the posts.
  function replaceHistory(posts) {
    Array.prototype.forEach.call(shownPosts(), function (node) { node.remove(); });
    var items = document.createDocumentFragment();
    posts.forEach(function (post) {
      if (String(post.roomId) === roomId) items.appendChild(postElement(post));
    });
    list.insertBefore(items, list.firstChild);
    noPosts.hidden = list.children.length > 0;
    scrollToBottom();
  }

  // A bot error: only this user's connections receive it; it is a notice, not a post.
  function showPostError(error) {
    if (String(error.roomId) !== roomId) return;
    var follow = nearBottom();
    var item = el("li", "post-error");
    item.setAttribute("role", "alert");
    item.appendChild(el("span", "post-error-title", "Only you can see this: nothing was posted"));
    item.appendChild(el("code", "post-error-body", error.body));
    item.appendChild(el("span", "post-error-reason", error.reason));
    var dismiss = el("button", "link post-error-dismiss", "Dismiss");
    dismiss.type = "button";
    dismiss.addEventListener("click", function () { item.remove(); });
    item.appendChild(dismiss);
    list.appendChild(item);
    noPosts.hidden = true;
    if (follow) scrollToBottom();
  }

  // Times rendered by the server are UTC; show every time in the reader's own zone.
  Array.prototype.forEach.call(list.querySelectorAll("time[datetime]"), function (node) {
    node.textContent = formatTime(node.getAttribute("datetime"));
  });
  scrollToBottom();

  // ---- GraphQL over HTTP -----------------------------------------------------------

  function GraphQLFailure(message, code) {
    this.message = message;
    this.code = code;
  }

  function graphql(query, variables) {
    return fetch(graphqlUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify({ query: query, variables: variables })
    }).then(
      function (response) {
        return response.json().then(
          function (result) {
            if (result.errors && result.errors.length) {
              var first = result.errors[0];
              throw new GraphQLFailure(first.message, first.extensions && first.extensions.code);
            }
            if (!response.ok) throw new GraphQLFailure("The server answered " + response.status + ".", "HTTP");
            return result.data;
          },
          function () {
            if (response.status === 403) {
              throw new GraphQLFailure("Your session has expired: reload the page and log in again.", "FORBIDDEN");
            }
            throw new GraphQLFailure("The server answered " + response.status + "; try again.", "HTTP");
          }
        );
      },
      function () {
        throw new GraphQLFailure("Could not reach the chat; check your connection and try again.", "NETWORK");
      }
    );
  }

  // ---- sending ---------------------------------------------------------------------

  function newClientId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  var sending = false;
  // Kept only while the same text is retried after a failure that may not have been final,
  // so the server stores it once even if the first attempt did reach it.
  var pending = null;

  function showSendError(message) {
    sendError.textContent = message;
    sendError.hidden = false;
  }

  function send() {
    var body = box.value;
    if (sending) return;
    if (!body.trim()) {
      showSendError("A post can't be empty.");
      return;
    }
    var clientId = pending && pending.body === body ? pending.clientId : newClientId();
    pending = null;
    sending = true;
    form.classList.add("is-sending");
    graphql(CREATE_POST, { input: { roomId: roomId, body: body, clientId: clientId } }).then(
      function () {
        if (box.value === body) box.value = "";
        sendError.hidden = true;
        sendError.textContent = "";
      },
      function (failure) {
        if (failure.code === "NETWORK" || failure.code === "UNAVAILABLE" || failure.code === "HTTP") {
          pending = { body: body, clientId: clientId };
        }
        showSendError(failure.message || "Your post was not sent; try again.");
      }
    ).then(function () {
      sending = false;
      form.classList.remove("is-sending");
      box.focus();
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    send();
  });
  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  box.addEventListener("input", function () {
    if (!sendError.hidden && box.value === "") sendError.hidden = true;
  });

  // ---- live connection -------------------------------------------------------------

  var socket = null;
  var delay = MIN_DELAY_MS;
  var retryTimer = null;
  var ackTimer = null;
  var reloadTimer = null;
  var reloadDelay = MIN_DELAY_MS;
  // The live posts subscription on this connection: { after, reloaded, delivered }.
  var postsStream = null;
  var stopped = false;

  function setState(state, text) {
    connection.dataset.state = state;
    connection.textContent = text;
  }

  function wsUrl() {
    var url = new URL(graphqlUrl, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.href;
  }

  function sendMessage(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    var ws;
    try {
      ws = new WebSocket(wsUrl(), "graphql-transport-ws");
    } catch (error) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.addEventListener("open", function () {
      ws.send(JSON.stringify({ type: "connection_init", payload: {} }));
      ackTimer = setTimeout(function () { ws.close(4408, "Connection acknowledgement timeout"); }, ACK_TIMEOUT_MS);
    });
    ws.addEventListener("message", function (event) {
      if (ws !== socket) return;
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      onMessage(message);
    });
    ws.addEventListener("close", function (event) {
      if (ws !== socket) return;
      socket = null;
      clearTimeout(ackTimer);
      clearTimeout(reloadTimer);
      postsStream = null;
      if (event.code === 4403) {
        stopped = true;
        setState("closed", "Not connected: your session has ended. Reload the page to log in again.");
        return;
      }
      scheduleReconnect();
    });
  }

  // The room's posts after `after` (what was missed), then the live ones; `after` null: live
  // only. `reloaded`: subscribed right after reloading the history.
  function subscribePosts(after, reloaded) {
    postsStream = { after: after, reloaded: reloaded, delivered: false };
    var input = { roomId: roomId };
    if (after !== null) input.after = after;
    sendMessage({ id: "posts", type: "subscribe", payload: { query: POST_CREATED, variables: { input: input } } });
  }

  // Too many posts were missed to replay: show the newest history instead, then resume
  // from its newest post. Retried with a growing delay while this connection lasts.
  function reloadHistory(ws, failed) {
    clearTimeout(reloadTimer);
    reloadTimer = null;
    postsStream = null;
    setState("reconnecting", "Catching up: loading the latest posts…");
    graphql(POSTS, { input: { roomId: roomId, limit: historyLimit } }).then(
      function (data) {
        if (ws !== socket) return; // the next connection resumes (and reloads) on its own
        reloadDelay = MIN_DELAY_MS;
        replaceHistory(data.posts);
        var after = newestSeq();
        // Refused again at once from the same place: the room's newest posts were removed,
        // so no shown post is close enough to resume from. Go on with the live posts only.
        var stuck = failed.reloaded && !failed.delivered && failed.after === after;
        subscribePosts(stuck ? null : after, true);
        setState("connected", "Live");
      },
      function (failure) {
        if (ws !== socket) return;
        var wait = reloadDelay;
        reloadDelay = Math.min(reloadDelay * 2, MAX_DELAY_MS);
        setState("reconnecting", "Could not load the latest posts: " + failure.message + " Retrying in " + Math.ceil(wait / 1000) + " s…");
        reloadTimer = setTimeout(function () {
          if (ws === socket) reloadHistory(ws, failed);
        }, wait);
      }
    );
  }

  function onMessage(message) {
    switch (message.type) {
      case "connection_ack":
        clearTimeout(ackTimer);
        delay = MIN_DELAY_MS;
        reloadDelay = MIN_DELAY_MS;
        setState("connected", "Live");
        subscribePosts(newestSeq(), false);
        sendMessage({ id: "errors", type: "subscribe", payload: { query: POST_ERROR } });
        break;
      case "next":
        var data = message.payload && message.payload.data;
        if (message.id === "posts" && data && data.postCreated) {
          if (postsStream) postsStream.delivered = true;
          showPost(data.postCreated);
        } else if (message.id === "errors" && data && data.postError) showPostError(data.postError);
        break;
      case "error":
        var first = message.payload && message.payload[0];
        var code = first && first.extensions && first.extensions.code;
        if (window.console) console.warn("subscription " + message.id + " failed:", first && first.message);
        if (message.id === "posts" && code === "TOO_FAR_BEHIND" && postsStream) reloadHistory(socket, postsStream);
        else if (message.id === "posts") setState("error", "Live updates are off: " + ((first && first.message) || "the subscription failed") + ".");
        break;
      case "complete":
        // The server ended a stream: start over on a fresh connection.
        if (socket) socket.close(1000, "Subscription completed");
        break;
      case "ping":
        sendMessage({ type: "pong" });
        break;
    }
  }

  function scheduleReconnect() {
    if (stopped || retryTimer) return;
    var wait = delay;
    delay = Math.min(delay * 2, MAX_DELAY_MS);
    setState("reconnecting", "Connection lost. Reconnecting in " + Math.ceil(wait / 1000) + " s…");
    retryTimer = setTimeout(function () {
      setState("reconnecting", "Connection lost. Reconnecting…");
      connect();
    }, wait);
  }

  window.addEventListener("online", function () {
    if (!socket && retryTimer && !stopped) {
      delay = MIN_DELAY_MS;
      connect();
    }
  });

  connect();
})();
