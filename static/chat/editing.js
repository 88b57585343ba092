// Editing and deleting: your own posts get Edit (within the edit window) and Delete; a
// moderator gets Delete on every post. The server decides; the buttons only save a
// pointless request.
import { el } from "./dom.js";
import { POST_FIELDS, postText } from "./posts.js";

const EDIT_POST = "mutation($input: EditPostInput!){ editPost(input:$input){ " + POST_FIELDS + " } }";
const DELETE_POST = "mutation($input: DeletePostInput!){ deletePost(input:$input){ success } }";

// editWindowMs: how long after posting the server accepts an edit; maxLength: of a post.
export function postEditing({ graphql, posts, isModerator, editWindowMs, maxLength }) {
  function showError(item, message) {
    const old = item.querySelector(".post-action-error");
    if (old) old.remove();
    const note = el("p", "post-action-error", message);
    note.setAttribute("role", "alert");
    item.appendChild(note);
  }

  function startEditing(item) {
    if (item.querySelector(".post-editor")) return;
    const body = item.querySelector(".body");
    const editor = el("form", "post-editor");
    const text = el("textarea", "post-editor-text");
    text.value = postText(body);
    text.setAttribute("aria-label", "Edit your post");
    text.maxLength = maxLength;
    const save = el("button", "primary", "Save");
    save.type = "submit";
    const cancel = el("button", "link", "Cancel");
    cancel.type = "button";
    editor.append(text, save, cancel);
    body.hidden = true;
    item.appendChild(editor);
    text.focus();
    function stop() {
      editor.remove();
      body.hidden = false;
    }
    cancel.addEventListener("click", stop);
    text.addEventListener("keydown", (event) => {
      if (event.key === "Escape") stop();
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        editor.requestSubmit();
      }
    });
    editor.addEventListener("submit", (event) => {
      event.preventDefault();
      save.disabled = true;
      graphql(EDIT_POST, { input: { postId: item.dataset.postId, body: text.value } }).then(
        (data) => {
          stop();
          posts.apply(data.editPost);
        },
        (failure) => {
          save.disabled = false;
          showError(item, failure.message || "Your edit was not saved.");
        }
      );
    });
  }

  function deletePost(item) {
    if (!window.confirm("Delete this post for everyone?")) return;
    graphql(DELETE_POST, { input: { postId: item.dataset.postId } }).then(
      () => posts.remove(item.dataset.postId),
      (failure) => showError(item, failure.message || "The post was not deleted.")
    );
  }

  // The controls of one shown post (drawn here or by the server).
  return function addControls(item) {
    const meta = item.querySelector(".post-meta");
    if (!meta || meta.querySelector(".post-actions")) return;
    const mine = item.classList.contains("post--mine");
    if (!mine && !isModerator) return;
    const actions = el("span", "post-actions");
    const created = new Date(item.dataset.createdAt);
    if (mine && !isNaN(created) && Date.now() - created.getTime() < editWindowMs) {
      const edit = el("button", "link post-edit", "Edit");
      edit.type = "button";
      edit.addEventListener("click", () => startEditing(item));
      actions.appendChild(edit);
    }
    const remove = el("button", "link post-delete", "Delete");
    remove.type = "button";
    remove.addEventListener("click", () => deletePost(item));
    actions.appendChild(remove);
    meta.appendChild(actions);
  };
}
