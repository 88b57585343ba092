// The room page's Mute button: muteRoom for the reader alone (a muted room raises no
// notification and its unread count is never red); aria-pressed says which it is.
const MUTE_ROOM = "mutation($input: MuteRoomInput!){ muteRoom(input:$input){ muted } }";

export function muteButton({ graphql, button, roomId, muted, changed }) {
  function show(value) {
    button.setAttribute("aria-pressed", value ? "true" : "false");
    button.textContent = value ? "Unmute" : "Mute";
    button.title = value
      ? "Muted: no notifications from this room, and its unread count is grey"
      : "Mute this room: no notifications, and its unread count is grey";
    changed(value);
  }
  show(muted);
  button.addEventListener("click", () => {
    const wanted = button.getAttribute("aria-pressed") !== "true";
    button.disabled = true;
    graphql(MUTE_ROOM, { input: { roomId: roomId, muted: wanted } }).then(
      (data) => {
        button.disabled = false;
        show(data.muteRoom.muted);
      },
      (failure) => {
        button.disabled = false;
        button.title = "Not changed: " + (failure.message || "the request failed");
      }
    );
  });
}
