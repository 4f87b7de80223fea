// Drag-and-drop upload of several scans. Each file is sent on its own to /scans/upload with its
// own progress bar (XHR upload progress); the files of one drop go into one folder of the inbox
// (X-Upload-Batch). When they are all sent, /scans/ingest starts the ingest as a background job,
// and the rows follow the job (/jobs/N.json, every second): each file waiting, being read page by
// page, and its outcome; at the end the server's outcome rows replace them (/jobs/N/rows).
// Without this script the form still works (all files in one request, then the job's page).
(function () {
  "use strict";
  var form = document.getElementById("upload");
  var zone = document.getElementById("dropzone");
  if (!form || !zone) { return; }
  var input = document.getElementById("files");
  var body = document.querySelector("#outcomes tbody");
  var token = form.querySelector("input[name=csrftoken]").value;
  var queue = [];
  var round = [];       // files of the current drop, uploaded into one batch folder
  var batch = "";
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
    var place = cell(row, "");
    place.appendChild(bar);
    var pages = document.createElement("span");
    pages.className = "pages";
    place.appendChild(pages);
    var state = cell(row, "等待上传");
    cell(row, ""); cell(row, "");
    body.insertBefore(row, body.firstChild);
    queue.push({file: file, row: row, bar: bar, pages: pages, state: state, saved: null});
  }

  function fail(item, text) {
    item.row.className = "outcome bad";
    item.state.textContent = text;
  }

  function messageOf(xhr) {
    try { return JSON.parse(xhr.responseText).error || ""; } catch (e) { /* an HTML page */ }
    var holder = document.createElement("div");
    holder.innerHTML = xhr.responseText;  // rendered and escaped by the server
    var alert = holder.querySelector("[role=alert]");
    return (alert ? alert.textContent : holder.textContent).trim().slice(0, 200);
  }

  function next() {
    if (busy) { return; }
    if (!queue.length) { if (round.length) { ingest(); } return; }
    busy = true;
    var item = queue.shift();
    var data = new FormData();
    data.append("csrftoken", token);
    data.append("files", item.file, item.file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/scans/upload");
    xhr.setRequestHeader("X-CSRFToken", token);
    xhr.setRequestHeader("X-Upload-Batch", batch);
    xhr.setRequestHeader("Accept", "application/json");
    item.state.textContent = "上传中";
    xhr.upload.onprogress = function (event) {
      if (event.lengthComputable) { item.bar.value = Math.round(event.loaded * 100 / event.total); }
    };
    xhr.onload = function () {
      if (xhr.status === 200) {
        var answer = JSON.parse(xhr.responseText);
        batch = answer.batch;
        item.saved = answer.saved[0];
        item.bar.value = 100;
        item.state.textContent = "已上传，等待识别";
        round.push(item);
      } else {
        fail(item, "上传失败（" + xhr.status + "）");
        item.row.lastElementChild.textContent = messageOf(xhr);
      }
      busy = false; next();
    };
    xhr.onerror = function () { fail(item, "上传失败：连接中断"); busy = false; next(); };
    xhr.send(data);
  }

  function ingest() {
    var items = round;
    var folder = batch;
    round = []; batch = "";
    var data = new FormData();
    data.append("csrftoken", token);
    data.append("batch", folder);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/scans/ingest");
    xhr.setRequestHeader("X-CSRFToken", token);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.onload = function () {
      if (xhr.status === 202) {
        var answer = JSON.parse(xhr.responseText);
        items.forEach(function (item) { item.state.textContent = "排队等待识别"; item.bar.value = 0; });
        follow(answer.job, items);
      } else {
        var text = messageOf(xhr);
        items.forEach(function (item) {
          fail(item, "未开始识别");
          item.row.lastElementChild.textContent = xhr.status === 409 ? text : text + "（文件已存入收件箱，稍后再导入）";
        });
      }
      next();
    };
    xhr.onerror = function () {
      items.forEach(function (item) { fail(item, "未开始识别：连接中断（文件已存入收件箱）"); });
    };
    xhr.send(data);
  }

  function show(items, data) {
    var byName = {};
    ((data.detail || {}).items || []).forEach(function (entry) { byName[entry.name] = entry; });
    items.forEach(function (item) {
      var entry = byName[item.saved];
      if (!entry) { return; }
      if (entry.status_title) {
        item.state.textContent = entry.status_title;
        if (entry.pages) { item.bar.max = entry.pages; item.bar.value = entry.pages; item.pages.textContent = " " + entry.pages + " 页"; }
      } else if (entry.page) {
        item.state.textContent = "识别中";
        if (entry.pages) { item.bar.max = entry.pages; }
        item.bar.value = entry.page;
        item.pages.textContent = " 第 " + entry.page + (entry.pages ? "/" + entry.pages : "") + " 页";
      } else if (entry.state === "reading") {
        item.state.textContent = "识别中";
      }
    });
  }

  function finish(job, items, data) {
    if (data.state !== "done") {
      items.forEach(function (item) {
        if (!item.row.parentNode) { return; }
        fail(item, data.state_title);
        item.row.lastElementChild.textContent = data.error || "";
      });
      return;
    }
    var xhr = new XMLHttpRequest();
    xhr.open("GET", "/jobs/" + job + "/rows");
    xhr.onload = function () {
      if (xhr.status !== 200) { return; }
      var holder = document.createElement("tbody");
      holder.innerHTML = xhr.responseText;  // rendered and escaped by the server
      var anchor = items[0].row;
      while (holder.firstElementChild) { body.insertBefore(holder.firstElementChild, anchor); }
      items.forEach(function (item) { item.row.remove(); });
    };
    xhr.send();
  }

  function follow(job, items) {
    var xhr = new XMLHttpRequest();
    xhr.open("GET", "/jobs/" + job + ".json");
    xhr.onload = function () {
      if (xhr.status !== 200) { setTimeout(function () { follow(job, items); }, 2000); return; }
      var data = JSON.parse(xhr.responseText);
      show(items, data);
      if (data.state === "running") {
        setTimeout(function () { follow(job, items); }, 1000);
      } else {
        finish(job, items, data);
      }
    };
    xhr.onerror = function () { setTimeout(function () { follow(job, items); }, 2000); };
    xhr.send();
  }

  function take(files) {
    for (var i = 0; i < files.length; i++) { add(files[i]); }
    next();
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
