// Drag-and-drop upload of several scans: files are sent one at a time to /scans/upload, each
// with its own progress bar; the server answers with the outcome rows for that file. Without
// this script the form still works (all files in one request).
(function () {
  "use strict";
  var form = document.getElementById("upload");
  var zone = document.getElementById("dropzone");
  if (!form || !zone) { return; }
  var input = document.getElementById("files");
  var body = document.querySelector("#outcomes tbody");
  var token = form.querySelector("input[name=csrftoken]").value;
  var queue = [];
  var busy = false;

  function cell(row, text) {
    var td = document.createElement("td");
    if (text) { td.textContent = text; }
    row.appendChild(td);
    return td;
  }

  function add(file) {
    var row = document.createElement("tr");
    row.className = "outcome pending";
    cell(row, file.name);
    var bar = document.createElement("progress");
    bar.max = 100; bar.value = 0;
    cell(row, "").appendChild(bar);
    var state = cell(row, "等待上传");
    cell(row, ""); cell(row, "");
    body.insertBefore(row, body.firstChild);
    queue.push({file: file, row: row, bar: bar, state: state});
    next();
  }

  function next() {
    if (busy || !queue.length) { return; }
    busy = true;
    var job = queue.shift();
    var data = new FormData();
    data.append("csrftoken", token);
    data.append("files", job.file, job.file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/scans/upload");
    xhr.setRequestHeader("X-CSRFToken", token);
    xhr.setRequestHeader("X-Upload-Rows", "1");
    job.state.textContent = "上传中";
    xhr.upload.onprogress = function (event) {
      if (event.lengthComputable) { job.bar.value = Math.round(event.loaded * 100 / event.total); }
    };
    xhr.upload.onload = function () { job.bar.value = 100; job.state.textContent = "识别、归档中……"; };
    xhr.onload = function () {
      if (xhr.status === 200) {
        var holder = document.createElement("tbody");
        holder.innerHTML = xhr.responseText;  // rendered and escaped by the server
        while (holder.firstElementChild) { body.insertBefore(holder.firstElementChild, job.row); }
        job.row.remove();
      } else {
        job.row.className = "outcome bad";
        job.state.textContent = "上传失败（" + xhr.status + "）";
        var holder2 = document.createElement("div");
        holder2.innerHTML = xhr.responseText;
        job.row.lastElementChild.textContent = holder2.textContent.trim().slice(0, 200);
      }
      busy = false; next();
    };
    xhr.onerror = function () {
      job.row.className = "outcome bad";
      job.state.textContent = "上传失败：连接中断";
      busy = false; next();
    };
    xhr.send(data);
  }

  function take(files) {
    for (var i = 0; i < files.length; i++) { add(files[i]); }
  }

  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (event) { take(event.dataTransfer.files); });
  input.addEventListener("change", function () { take(input.files); input.value = ""; });
  form.addEventListener("submit", function (event) { event.preventDefault(); take(input.files); input.value = ""; });
})();
