// Reactions: a post's counts are buttons (pressed when the reader is among those who
// reacted; the hover names who did). Clicking one adds or takes back the reader's; "React"
// opens a picker of the emoji the server allows (the page's #reaction-emoji). The counts are
// drawn from the REACTED room event every reader gets (the one order: an answer drawn here
// could come after a newer event and undo it).
import { el } from "./dom.js";
import { POST_FIELDS } from "./posts.js";

const ADD = "mutation($input: ReactionInput!){ addReaction(input:$input){ " + POST_FIELDS + " } }";
const REMOVE = "mutation($input: ReactionInput!){ removeReaction(input:$input){ " + POST_FIELDS + " } }";

// containers: the lists whose posts get reactions (the room's, the thread panel's).
export function postReactions({ graphql, containers, emoji, username }) {
  let picker = null;

  function showError(item, message) {
    const old = item.querySelector(".post-action-error");
    if (old) old.remove();
    const note = el("p", "post-action-error", message);
    note.setAttribute("role", "alert");
    item.appendChild(note);
  }

  function send(item, chosen, on) {
    const input = { input: { postId: item.dataset.postId, emoji: chosen } };
    return graphql(on ? ADD : REMOVE, input).then(
      (data) => (on ? data.addReaction : data.removeReaction),
      (failure) => showError(item, failure.message || "Your reaction was not saved.")
    );
  }

  // The reader's own reaction: taken back if the hover names them, else added. Past the
  // names the server keeps, an add that changes no count means it was theirs: take it back.
  function toggle(item, button) {
    const chosen = button.dataset.emoji;
    const before = Number(button.dataset.count);
    if (button.getAttribute("aria-pressed") === "true") return send(item, chosen, false);
    return send(item, chosen, true).then((post) => {
      if (!post) return;
      const now = post.reactions.find((reaction) => reaction.emoji === chosen);
      if (now && now.count === before && !now.users.includes(username)) send(item, chosen, false);
    });
  }

  function closePicker() {
    if (picker) picker.remove();
    picker = null;
  }

  function openPicker(item, opener) {
    closePicker();
    picker = el("div", "reaction-picker");
    picker.setAttribute("role", "menu");
    picker.setAttribute("aria-label", "Add a reaction");
    emoji.forEach((choice) => {
      const option = el("button", "reaction-option", choice);
      option.type = "button";
      option.setAttribute("role", "menuitem");
      option.title = "React with " + choice;
      option.addEventListener("click", () => {
        closePicker();
        const pressed = item.querySelector('.reaction[aria-pressed="true"][data-emoji="' + choice + '"]');
        if (!pressed) send(item, choice, true);
        opener.focus();
      });
      picker.appendChild(option);
    });
    picker.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        closePicker();
        opener.focus();
      }
    });
    opener.closest(".post-foot").appendChild(picker);
    picker.querySelector("button").focus();
  }

  containers.forEach((container) => {
    container.addEventListener("click", (event) => {
      const target = event.target.closest("button");
      if (!target || !container.contains(target)) return;
      const item = target.closest("li.post");
      if (!item) return;
      if (target.classList.contains("reaction")) toggle(item, target);
      else if (target.classList.contains("post-react")) {
        if (picker && picker.parentNode === target.closest(".post-foot")) closePicker();
        else openPicker(item, target);
      }
    });
  });
  document.addEventListener("click", (event) => {
    if (picker && !picker.contains(event.target) && !event.target.closest(".post-react")) closePicker();
  });
}
