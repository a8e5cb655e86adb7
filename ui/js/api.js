// The dashboard's calls to Gantry's JSON API. Errors carry the server's message.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, { method = "GET", json, body, headers = {} } = {}) {
  const init = { method, cache: "no-store", headers: { ...headers } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(path, init);
  if (response.status === 401) {
    location.replace("/login.html");
    throw new ApiError(401, "unauthorized", "signed out");
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    throw new ApiError(response.status, data?.error?.code ?? "error", data?.error?.message ?? `HTTP ${response.status}`);
  }
  return data;
}

/// The session's CSRF token when this page is signed in remotely (none for a trusted local visitor).
async function csrfToken() {
  try {
    const session = await api("/api/v1/access/session");
    return session?.csrf_token ?? null;
  } catch {
    return null;
  }
}

/// Uploads a file with progress (fetch cannot report upload progress, XHR can).
export async function upload(file, onProgress, { overwrite = false } = {}) {
  const token = await csrfToken();
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const query = new URLSearchParams({ name: file.name, overwrite: String(overwrite) });
    xhr.open("POST", `/api/v1/files?${query}`);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    if (token) xhr.setRequestHeader("X-CSRF-Token", token);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        // not JSON: reported below by status
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data?.error?.code ?? "error", data?.error?.message ?? `HTTP ${xhr.status}`));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", "the upload was cut off")));
    xhr.send(file);
  });
}
