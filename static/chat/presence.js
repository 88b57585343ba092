// Who is here: the whole list comes with every change; the highest version wins.

export const PRESENCE = "subscription($input: RoomInput!){ presenceChanged(input:$input){ version count users { userId username } } }";

export function presenceLine() {
  const line = document.getElementById("presence");
  let version = -1;

  return function show(presence) {
    if (presence.version < version) return;
    version = presence.version;
    const names = presence.users.map((user) => user.username);
    const more = presence.count - names.length;
    line.textContent = !names.length ? "" : "Here: " + names.join(", ") + (more > 0 ? " and " + more + " more" : "");
    line.dataset.count = String(presence.count);
  };
}
