// The Remote Access Authentication screen: visitors from other machines sign in here with an
// account of this computer, or with the linked cloud account when the cloud can vouch for it.

const form = document.getElementById("form");
const error = document.getElementById("error");
const submit = document.getElementById("submit");
const how = document.getElementById("how");
const cloud = document.getElementById("cloud");

function showError(text) {
  error.textContent = text;
  error.hidden = !text;
}

async function explain() {
  try {
    const response = await fetch("/api/v1/access/session", { cache: "no-store" });
    const state = await response.json();
    if (state.signed_in) {
      location.replace("/");
      return;
    }
    if (state.cloud_sign_in) {
      how.textContent =
        "Sign in with a user name and password of the computer Gantry runs on, or with the e-mail and password of the cloud account this Gantry is linked to.";
      cloud.textContent = "";
    } else {
      cloud.textContent =
        "Only this computer's accounts can be used right now: this Gantry is not linked to a cloud account, or the cloud cannot be reached.";
    }
  } catch {
    cloud.textContent = "Gantry is not answering.";
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showError("");
  const username = form.username.value.trim();
  const password = form.password.value;
  if (!username || !password) {
    showError("Enter a user name and a password.");
    return;
  }
  submit.disabled = true;
  submit.textContent = "Signing in…";
  try {
    const response = await fetch("/api/v1/access/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    if (response.ok) {
      location.replace("/");
      return;
    }
    const body = await response.json().catch(() => ({}));
    showError(body?.error?.message || `Sign-in failed (${response.status}).`);
    form.password.value = "";
    form.password.focus();
  } catch {
    showError("Gantry is not answering.");
  } finally {
    submit.disabled = false;
    submit.textContent = "Sign in";
  }
});

explain();
