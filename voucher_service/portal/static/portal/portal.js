// The portal's one script (no inline scripts: the Content-Security-Policy runs only our own files).
// An upload form shows its progress while the file is sent; a file over the size the server takes is refused in
// place before it is sent (the server checks again); a refused upload shows the server's errors in place.
function showFieldError(input, message) {
  const field = input.closest(".field");
  if (!field) return;
  field.classList.add("invalid");
  field.querySelectorAll("p.error").forEach((p) => p.remove());
  const error = document.createElement("p");
  error.className = "error client";
  error.id = `${input.id}_error`;
  error.textContent = message;
  field.appendChild(error);
}

function tooLarge(form) {
  for (const input of form.querySelectorAll("input[type=file][data-max-bytes]")) {
    const file = input.files && input.files[0];
    if (file && file.size > Number(input.dataset.maxBytes)) {
      showFieldError(input, input.dataset.tooLarge || "");
      return true;
    }
  }
  return false;
}

function showAnswer(request) {
  const answer = new DOMParser().parseFromString(request.responseText, "text/html");
  const main = answer.querySelector("main");
  const current = document.querySelector("main");
  if (!main || !current) { document.open(); document.write(request.responseText); document.close(); return; }
  current.replaceWith(main);
  if (window.htmx) window.htmx.process(main);
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.classList.contains("upload") || !window.XMLHttpRequest) return;
  const progress = form.querySelector(".upload-progress") || form.querySelector("progress");
  const bar = progress && (progress.tagName === "PROGRESS" ? progress : progress.querySelector("progress"));
  if (!bar) return;
  event.preventDefault();
  if (tooLarge(form)) return;
  const percent = progress.querySelector ? progress.querySelector(".percent") : null;
  const request = new XMLHttpRequest();
  request.open("POST", form.action);
  progress.hidden = false;
  bar.hidden = false;
  request.upload.addEventListener("progress", (e) => {
    if (!e.lengthComputable) return;
    bar.value = (100 * e.loaded) / e.total;
    if (percent) percent.textContent = `${Math.round(bar.value)}%`;
  });
  request.addEventListener("load", () => {
    if (request.responseURL && request.status < 400) { window.location.assign(request.responseURL); return; }
    showAnswer(request);
  });
  request.send(new FormData(form));
});
