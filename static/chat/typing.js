// Who is typing: typing in the box tells the room at most once per `intervalMs` (the server
// throttles at that pace too); others show "<name> is typing…" until it expires or that
// person's post arrives.

const SEND_TYPING = "mutation($input: RoomInput!){ sendTyping(input:$input){ sent } }";
export const TYPING = "subscription($input: RoomInput!){ typing(input:$input){ userId username expiresInSeconds } }";
// How often the line is redrawn while someone is shown typing (to drop the expired).
const REDRAW_MS = 1000;

export function typingLine({ graphql, box, roomId, userId, intervalMs }) {
  const line = document.getElementById("typing");
  const typists = {}; // user id -> { name, until }
  let sentAt = 0;
  let timer = null;

  function draw() {
    const now = Date.now();
    const names = [];
    Object.keys(typists).forEach((id) => {
      if (typists[id].until > now) names.push(typists[id].name);
      else delete typists[id];
    });
    line.textContent = !names.length ? "" :
      names.length === 1 ? names[0] + " is typing…" :
      names.length <= 3 ? names.join(", ") + " are typing…" : "Several people are typing…";
    clearTimeout(timer);
    if (names.length) timer = setTimeout(draw, REDRAW_MS);
  }

  box.addEventListener("input", () => {
    if (!box.value.trim() || box.disabled || Date.now() - sentAt < intervalMs) return;
    sentAt = Date.now();
    graphql(SEND_TYPING, { input: { roomId: roomId } }).catch(() => {});
  });

  return {
    // A `typing` event.
    someone(who) {
      if (String(who.userId) === userId) return;
      typists[String(who.userId)] = { name: who.username, until: Date.now() + who.expiresInSeconds * 1000 };
      draw();
    },
    // A post arrived: its author has stopped typing.
    posted(post) {
      if (post && post.userId !== null && typists[String(post.userId)]) {
        delete typists[String(post.userId)];
        draw();
      }
    },
  };
}
