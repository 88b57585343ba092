// Getting a person's attention while the tab is hidden: a browser notification for a
// mention of them or a direct message (never from a room they muted), and an unread count in
// front of the tab's title. The browser is asked for permission only when the person clicks
// "Turn on notifications", and only once.

const ASKED_KEY = "chat.notifications.asked";
// A notification shows at most this much of a post's text.
const NOTE_TEXT_MAX = 200;

function remembered(key) {
  try {
    return window.localStorage.getItem(key);
  } catch (error) {
    return null; // storage refused: ask again next time rather than never
  }
}

function remember(key) {
  try {
    window.localStorage.setItem(key, "1");
  } catch (error) {
    // nothing to keep it in
  }
}

export function isHidden() {
  return document.visibilityState === "hidden";
}

// @username as a word, any case (as the server counts mentions).
export function mentionPattern(username) {
  return new RegExp("(^|[^\\w@])@" + username.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "([^\\w]|$)", "i");
}

// The button that asks for permission: shown only while the browser has never been asked.
export function notificationButton(button) {
  if (!button) return;
  const canAsk = "Notification" in window && Notification.permission === "default" && !remembered(ASKED_KEY);
  button.hidden = !canAsk;
  button.addEventListener("click", () => {
    remember(ASKED_KEY);
    button.hidden = true;
    Promise.resolve(Notification.requestPermission()).catch(() => {});
  });
}

// A notification, if the person allowed them; a click on it brings the tab (and `url`).
export function notify({ title, body, tag, url }) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  let note;
  try {
    note = new Notification(title, { body: String(body).slice(0, NOTE_TEXT_MAX), tag: tag });
  } catch (error) {
    return; // a browser that shows notifications only from a service worker (Chrome on Android)
  }
  note.onclick = () => {
    window.focus();
    if (url && window.location.pathname !== url) window.location.assign(url);
    note.close();
  };
}

// Sets the tab's title to "(n) <title>", or the title alone when n is 0.
export function titleCount(baseTitle) {
  return (n) => {
    document.title = n > 0 ? "(" + (n > 99 ? "99+" : n) + ") " + baseTitle : baseTitle;
  };
}

// The room page: posts by others that arrive while the tab is hidden are counted in the
// title (until the tab is seen again); a mention of the reader, or any post of a direct
// message, raises a notification unless the room is muted.
export function roomAttention({ roomId, roomName, userId, username, direct, muted }) {
  const mention = mentionPattern(username);
  const setTitle = titleCount(document.title);
  let unseen = 0;
  let isMuted = muted;
  document.addEventListener("visibilitychange", () => {
    if (!isHidden()) {
      unseen = 0;
      setTitle(0);
    }
  });
  return {
    setMuted(value) {
      isMuted = value;
    },
    // A post shown live (or caught up on after a reconnect).
    posted(post) {
      if (!isHidden() || (!post.isBot && String(post.userId) === userId)) return;
      unseen += 1;
      setTitle(unseen);
      if (isMuted || !(direct || mention.test(post.body))) return;
      notify({
        title: direct ? post.author + " (direct message)" : post.author + " in " + roomName,
        body: post.body,
        tag: "post-" + post.id,
        url: "/rooms/" + encodeURIComponent(roomId) + "/",
      });
    },
  };
}
