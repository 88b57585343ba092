// The room page: send with createPost over HTTP, receive over graphql-transport-ws. On every
// (re)connect the page resumes with roomEvents(after: <newest position seen>): the server
// sends what was missed (posts, edits, deletions), then the live events, none twice. Text
// only ever goes in via textContent.
(function () {
  "use strict";

  var main = document.getElementById("main");
  var roomId = main.dataset.roomId;
  var userId = main.dataset.userId;
  var graphqlUrl = main.dataset.graphqlUrl;
  var historyLimit = parseInt(main.dataset.historyLimit, 10) || 50;
  var isModerator = main.dataset.moderator === "true";
  var editWindowMs = (parseInt(main.dataset.editWindow, 10) || 900) * 1000;

  var list = document.getElementById("posts");
  var scroller = document.getElementById("scroller");
  var noPosts = document.getElementById("no-posts");
  var connection = document.getElementById("connection");
  var form = document.getElementById("post-form");
  var box = document.getElementById("post-body");
  var sendError = document.getElementById("send-error");
  var csrfToken = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  var POST_FIELDS = "id roomId seq userId author body isBot createdAt editedAt";
  var CREATE_POST = "mutation($input: CreatePostInput!){ createPost(input:$input){ success requestId } }";
  var POSTS = "query($input: PostsInput!){ posts(input:$input){ " + POST_FIELDS + " } }";
  var ROOM_EVENTS = "subscription($input: RoomEventsInput!){ roomEvents(input:$input){ seq kind post { " + POST_FIELDS + " deleted } } }";
  var EDIT_POST = "mutation($input: EditPostInput!){ editPost(input:$input){ " + POST_FIELDS + " } }";
  var DELETE_POST = "mutation($input: DeletePostInput!){ deletePost(input:$input){ success } }";
  var MARK_READ = "mutation($input: MarkReadInput!){ markRead(input:$input){ lastReadSeq } }";
  var PRESENCE = "subscription($input: RoomInput!){ presenceChanged(input:$input){ version count users { userId username } } }";
  var SEND_TYPING = "mutation($input: RoomInput!){ sendTyping(input:$input){ sent } }";
  var TYPING = "subscription($input: RoomInput!){ typing(input:$input){ userId username expiresInSeconds } }";
  var POST_ERROR = "subscription { postError { requestId roomId userId body reason } }";
  var SEARCH_POSTS = "query($input: SearchPostsInput!){ searchPosts(input:$input){ " + POST_FIELDS + " } }";

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

  // The author's name; someone else's links to a direct message with them (/dm/<username>/).
  function authorElement(post) {
    var author = el("span", "author");
    if (post.isBot || post.userId == null || String(post.userId) === userId) {
      author.textContent = post.author;
      return author;
    }
    var link = el("a", null, post.author);
    link.href = "/dm/" + encodeURIComponent(post.author) + "/";
    link.title = "Direct message with " + post.author;
    author.appendChild(link);
    return author;
  }

  function postElement(post) {
    var item = el("li", "post");
    if (post.isBot) item.classList.add("post--bot");
    else if (post.userId !== null && String(post.userId) === userId) item.classList.add("post--mine");
    item.dataset.postId = String(post.id);
    item.dataset.seq = String(post.seq);
    var meta = el("div", "post-meta");
    meta.appendChild(authorElement(post));
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
    item.dataset.createdAt = post.createdAt;
    markEdited(item, post.editedAt);
    addPostControls(item);
    return item;
  }

  // ---- editing and deleting ---------------------------------------------------------
  // Your own posts get Edit (within the edit window) and Delete; a moderator gets Delete on
  // every post. The server decides; the buttons only save a pointless request.

  function markEdited(item, editedAt) {
    var meta = item.querySelector(".post-meta");
    if (!editedAt || !meta || meta.querySelector(".edited")) return;
    var mark = el("span", "edited", "(edited)");
    mark.title = "Edited " + formatTime(editedAt);
    meta.appendChild(document.createTextNode(" "));
    meta.appendChild(mark);
  }

  function isMine(item) {
    return item.classList.contains("post--mine");
  }

  function addPostControls(item) {
    var meta = item.querySelector(".post-meta");
    if (!meta || meta.querySelector(".post-actions")) return;
    var mine = isMine(item);
    if (!mine && !isModerator) return;
    var actions = el("span", "post-actions");
    var created = new Date(item.dataset.createdAt);
    if (mine && !isNaN(created) && Date.now() - created.getTime() < editWindowMs) {
      var edit = el("button", "link post-edit", "Edit");
      edit.type = "button";
      edit.addEventListener("click", function () { startEditing(item); });
      actions.appendChild(edit);
    }
    var remove = el("button", "link post-delete", "Delete");
    remove.type = "button";
    remove.addEventListener("click", function () { deletePost(item); });
    actions.appendChild(remove);
    meta.appendChild(actions);
  }

  function postActionError(item, message) {
    var old = item.querySelector(".post-action-error");
    if (old) old.remove();
    var note = el("p", "post-action-error", message);
    note.setAttribute("role", "alert");
    item.appendChild(note);
  }

  function startEditing(item) {
    if (item.querySelector(".post-editor")) return;
    var body = item.querySelector(".body");
    var editor = el("form", "post-editor");
    var text = el("textarea", "post-editor-text");
    text.value = body.textContent;
    text.setAttribute("aria-label", "Edit your post");
    text.maxLength = box.maxLength;
    var save = el("button", "primary", "Save");
    save.type = "submit";
    var cancel = el("button", "link", "Cancel");
    cancel.type = "button";
    editor.appendChild(text);
    editor.appendChild(save);
    editor.appendChild(cancel);
    body.hidden = true;
    item.appendChild(editor);
    text.focus();
    function stop() {
      editor.remove();
      body.hidden = false;
    }
    cancel.addEventListener("click", stop);
    text.addEventListener("keydown", function (event) {
      if (event.key === "Escape") stop();
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        editor.requestSubmit();
      }
    });
    editor.addEventListener("submit", function (event) {
      event.preventDefault();
      save.disabled = true;
      graphql(EDIT_POST, { input: { postId: item.dataset.postId, body: text.value } }).then(
        function (data) {
          stop();
          applyPost(data.editPost);
        },
        function (failure) {
          save.disabled = false;
          postActionError(item, failure.message || "Your edit was not saved.");
        }
      );
    });
  }

  function deletePost(item) {
    if (!window.confirm("Delete this post for everyone?")) return;
    graphql(DELETE_POST, { input: { postId: item.dataset.postId } }).then(
      function () { removePost(item.dataset.postId); },
      function (failure) { postActionError(item, failure.message || "The post was not deleted."); }
    );
  }

  function shownPost(id) {
    return list.querySelector('li.post[data-post-id="' + String(id).replace(/[^0-9a-z]/g, "") + '"]');
  }

  // An edit, live or replayed: the post's text as it is now.
  function applyPost(post) {
    var item = shownPost(post.id);
    if (!item) return;
    var body = item.querySelector(".body");
    if (body) body.textContent = post.body;
    markEdited(item, post.editedAt);
  }

  function removePost(id) {
    var item = shownPost(id);
    if (item) item.remove();
    noPosts.hidden = list.children.length > 0;
  }

  // ---- read state ---------------------------------------------------------------------
  // What the reader has seen is told to the server (markRead), at most once a second, while
  // the page is visible and scrolled to the newest post: unread counts follow it elsewhere.

  var lastEventSeq = 0; // the newest room position seen (a post's or an edit's)
  var readSent = 0;
  var readTimer = null;

  function seen(seq) {
    if (seq > lastEventSeq) lastEventSeq = seq;
    scheduleMarkRead();
  }

  function resumePosition() {
    return Math.max(newestSeq(), lastEventSeq);
  }

  function scheduleMarkRead() {
    if (readTimer) return;
    readTimer = setTimeout(function () {
      readTimer = null;
      var seq = resumePosition();
      if (seq <= readSent || document.visibilityState !== "visible" || !nearBottom()) return;
      readSent = seq;
      graphql(MARK_READ, { input: { roomId: roomId, seq: seq } }).catch(function () { readSent = 0; });
    }, 1000);
  }

  document.addEventListener("visibilitychange", scheduleMarkRead);

  // ---- who is here ----------------------------------------------------------------------
  // The whole list comes with every change; the highest version wins.

  var presenceLine = document.getElementById("presence");
  var presenceVersion = -1;

  function showPresence(presence) {
    if (presence.version < presenceVersion) return;
    presenceVersion = presence.version;
    var names = presence.users.map(function (user) { return user.username; });
    var more = presence.count - names.length;
    presenceLine.textContent = !names.length ? "" : "Here: " + names.join(", ") + (more > 0 ? " and " + more + " more" : "");
    presenceLine.dataset.count = String(presence.count);
  }

  // ---- who is typing -------------------------------------------------------------------
  // Typing tells the room at most every 3 s (the server throttles too); others show
  // "<name> is typing…" until it expires or that person's post arrives.

  var typingLine = document.getElementById("typing");
  var typists = {}; // user id -> { name, until }
  var typingSentAt = 0;
  var typingTimer = null;

  function showTypists() {
    var now = Date.now();
    var names = [];
    Object.keys(typists).forEach(function (id) {
      if (typists[id].until > now) names.push(typists[id].name);
      else delete typists[id];
    });
    typingLine.textContent = !names.length ? "" :
      names.length === 1 ? names[0] + " is typing…" :
      names.length <= 3 ? names.join(", ") + " are typing…" : "Several people are typing…";
    clearTimeout(typingTimer);
    if (names.length) typingTimer = setTimeout(showTypists, 1000);
  }

  function someoneTyping(who) {
    if (String(who.userId) === userId) return;
    typists[String(who.userId)] = { name: who.username, until: Date.now() + who.expiresInSeconds * 1000 };
    showTypists();
  }

  function stoppedTyping(post) {
    if (post && post.userId !== null && typists[String(post.userId)]) {
      delete typists[String(post.userId)];
      showTypists();
    }
  }

  box.addEventListener("input", function () {
    if (!box.value.trim() || box.disabled || Date.now() - typingSentAt < 3000) return;
    typingSentAt = Date.now();
    graphql(SEND_TYPING, { input: { roomId: roomId } }).catch(function () {});
  });
  scroller.addEventListener("scroll", function () { if (nearBottom()) scheduleMarkRead(); }, { passive: true });

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
    lastEventSeq = 0; // the reloaded history is the new place to resume from
    restartOlderHistory(posts.length);
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
  // The server-rendered posts get the same controls as the ones drawn here.
  Array.prototype.forEach.call(shownPosts(), function (item) {
    var time = item.querySelector("time[datetime]");
    if (time) item.dataset.createdAt = time.getAttribute("datetime");
    markEdited(item, item.dataset.editedAt);
    addPostControls(item);
  });
  scrollToBottom();
  scheduleMarkRead();

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

  // ---- older history ---------------------------------------------------------------
  // Near the top of the scroller the page asks for the posts before the oldest one shown
  // (`posts(before: <its seq>)`), one page at a time, and puts them above it without moving
  // what the reader is looking at. A page shorter than historyLimit is the room's beginning.

  var historyStart = document.getElementById("history-start");
  var historyLoading = document.getElementById("history-loading");
  var historyError = document.getElementById("history-error");
  var historyErrorText = document.getElementById("history-error-text");
  var historyRetry = document.getElementById("history-retry");

  var OLDER_THRESHOLD_PX = 300;
  // loading: one page on its way (never two); done: the room's first post is shown; failed:
  // waits for "Try again"; generation: a page asked for before the history was replaced is
  // dropped when it arrives.
  var older = { loading: false, done: false, failed: false, generation: 0 };

  function oldestShownPost() {
    return list.querySelector("li.post");
  }

  // Runs `change` (which adds or shows things above the shown posts) and scrolls by what it
  // added, so the posts on screen stay where they were.
  function keepingPosition(change) {
    var anchor = oldestShownPost();
    var top = anchor ? anchor.getBoundingClientRect().top : 0;
    change();
    if (anchor && anchor.isConnected) scroller.scrollTop += anchor.getBoundingClientRect().top - top;
  }

  function showOlderState() {
    keepingPosition(function () {
      historyLoading.hidden = !older.loading;
      historyStart.hidden = !older.done;
      historyError.hidden = !older.failed;
    });
  }

  // The shown history was (re)loaded with `count` posts, the newest of the room.
  function restartOlderHistory(count) {
    older.generation++;
    older.loading = false;
    older.failed = false;
    older.done = count < historyLimit;
    showOlderState();
  }

  function loadOlderIfNearTop() {
    if (older.loading || older.done || older.failed) return;
    if (scroller.scrollTop > OLDER_THRESHOLD_PX) return;
    loadOlder();
  }

  function loadOlder() {
    var oldest = oldestShownPost();
    if (!oldest) return; // nothing shown: the live posts will be the room's first
    var before = seqOf(oldest);
    var generation = older.generation;
    older.loading = true;
    showOlderState();
    graphql(POSTS, { input: { roomId: roomId, before: before, limit: historyLimit } }).then(
      function (data) {
        if (generation !== older.generation) return;
        older.loading = false;
        older.done = data.posts.length < historyLimit;
        showOlderPosts(data.posts, before);
        loadOlderIfNearTop(); // a short page or a tall screen: still at the top
      },
      function (failure) {
        if (generation !== older.generation) return;
        older.loading = false;
        older.failed = true;
        historyErrorText.textContent = "Could not load older posts: " + (failure.message || "try again.");
        showOlderState();
      }
    );
  }

  // Older posts go above the oldest shown, in seq order, each once.
  function showOlderPosts(posts, before) {
    var shown = {};
    Array.prototype.forEach.call(shownPosts(), function (node) { shown[node.dataset.postId] = true; });
    var items = document.createDocumentFragment();
    posts.forEach(function (post) {
      var id = String(post.id);
      if (String(post.roomId) !== roomId || Number(post.seq) >= before || shown[id]) return;
      shown[id] = true;
      items.appendChild(postElement(post));
    });
    keepingPosition(function () {
      list.insertBefore(items, oldestShownPost() || list.firstChild);
      historyLoading.hidden = true;
      historyStart.hidden = !older.done;
      historyError.hidden = true;
    });
  }

  scroller.addEventListener("scroll", loadOlderIfNearTop, { passive: true });
  historyRetry.addEventListener("click", function () {
    if (older.loading) return;
    older.failed = false;
    showOlderState();
    loadOlder();
  });

  // ---- search ----------------------------------------------------------------------
  // The header's search box asks searchPosts and lists what it finds, newest first, in a
  // panel above the posts; the results are a snapshot (they don't follow live changes).

  var searchForm = document.getElementById("search-form");
  var searchBox = document.getElementById("search-query");
  var searchPanel = document.getElementById("search-results");
  var searchStatus = document.getElementById("search-status");
  var searchList = document.getElementById("search-list");
  var searchClose = document.getElementById("search-close");
  var searchLimit = parseInt(main.dataset.searchLimit, 10) || 20;
  // Bumped by every search and by closing: an answer to an earlier search is dropped.
  var searchGeneration = 0;

  var dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  // A found post: drawn as in the room, with its date too (it may be from any day).
  function searchResultElement(post) {
    var item = postElement(post);
    var actions = item.querySelector(".post-actions");
    if (actions) actions.remove(); // a snapshot: edit and delete where the post is shown live
    var time = item.querySelector("time");
    var date = new Date(post.createdAt);
    if (time && !isNaN(date)) time.textContent = dateTimeFormat.format(date);
    return item;
  }

  // The panel takes room from the posts: a reader at the newest post stays there.
  function showSearchState(state, message) {
    var follow = searchPanel.hidden && nearBottom();
    searchPanel.hidden = false;
    searchPanel.dataset.state = state;
    searchStatus.textContent = message;
    if (follow) scrollToBottom();
  }

  function searchPosts(text) {
    var generation = ++searchGeneration;
    searchList.replaceChildren();
    showSearchState("searching", "Searching…");
    graphql(SEARCH_POSTS, { input: { roomId: roomId, query: text, limit: searchLimit } }).then(
      function (data) {
        if (generation !== searchGeneration) return;
        var posts = data.searchPosts;
        var items = document.createDocumentFragment();
        posts.forEach(function (post) { items.appendChild(searchResultElement(post)); });
        searchList.appendChild(items);
        if (!posts.length) showSearchState("none", "No posts found for \u201c" + text.trim() + "\u201d.");
        else if (posts.length >= searchLimit) showSearchState("found", "The newest " + posts.length + " posts found; add words to narrow the search.");
        else showSearchState("found", (posts.length === 1 ? "1 post" : posts.length + " posts") + " found, newest first.");
      },
      function (failure) {
        if (generation !== searchGeneration) return;
        showSearchState("error", failure.message || "The search failed; try again.");
      }
    );
  }

  function closeSearch() {
    searchGeneration++;
    searchPanel.hidden = true;
    delete searchPanel.dataset.state;
    searchStatus.textContent = "";
    searchList.replaceChildren();
  }

  searchForm.addEventListener("submit", function (event) {
    event.preventDefault();
    searchPosts(searchBox.value);
  });
  searchBox.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !searchPanel.hidden) {
      event.preventDefault();
      closeSearch();
    }
  });
  searchClose.addEventListener("click", function () {
    closeSearch();
    searchBox.focus();
  });

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
    sendMessage({ id: "posts", type: "subscribe", payload: { query: ROOM_EVENTS, variables: { input: input } } });
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
        subscribePosts(resumePosition(), false);
        sendMessage({ id: "errors", type: "subscribe", payload: { query: POST_ERROR } });
        sendMessage({ id: "typing", type: "subscribe", payload: { query: TYPING, variables: { input: { roomId: roomId } } } });
        sendMessage({ id: "presence", type: "subscribe", payload: { query: PRESENCE, variables: { input: { roomId: roomId } } } });
        break;
      case "next":
        var data = message.payload && message.payload.data;
        if (message.id === "posts" && data && data.roomEvents) {
          if (postsStream) postsStream.delivered = true;
          var roomEvent = data.roomEvents;
          if (roomEvent.kind === "CREATED") {
            showPost(roomEvent.post);
            stoppedTyping(roomEvent.post);
          }
          else if (roomEvent.kind === "EDITED") applyPost(roomEvent.post);
          else if (roomEvent.kind === "DELETED") removePost(roomEvent.post.id);
          seen(Number(roomEvent.seq));
        } else if (message.id === "errors" && data && data.postError) showPostError(data.postError);
        else if (message.id === "typing" && data && data.typing) someoneTyping(data.typing);
        else if (message.id === "presence" && data && data.presenceChanged) showPresence(data.presenceChanged);
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

  restartOlderHistory(shownPosts().length);
  loadOlderIfNearTop();
  connect();
})();
