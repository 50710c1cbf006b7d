// The portal's one script (no inline scripts: the Content-Security-Policy runs only our own files).
// An upload form shows its progress while the file is sent.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.classList.contains("upload") || !window.XMLHttpRequest) return;
  const bar = form.querySelector("progress");
  if (!bar) return;
  event.preventDefault();
  const request = new XMLHttpRequest();
  request.open("POST", form.action);
  bar.hidden = false;
  request.upload.addEventListener("progress", (e) => { if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total; });
  request.addEventListener("load", () => {
    if (request.responseURL && request.status < 400) { window.location.assign(request.responseURL); return; }
    document.open(); document.write(request.responseText); document.close();
  });
  request.send(new FormData(form));
});
