{
  "targets": [
    {
      "target_name": "bpfgate",
      "sources": [
        "src/addon.c",
        "src/common.c",
        "src/object.c",
        "src/link.c",
        "src/map.c",
        "src/ringbuf.c"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "libraries": ["-lbpf"]
    }
  ]
}
