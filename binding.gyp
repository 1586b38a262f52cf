{
  "targets": [
    {
      "target_name": "ringpool",
      "sources": [
        "src/addon.c",
        "src/napi_util.c",
        "src/bind_wait.c",
        "src/bind_ring.c",
        "src/bind_channel.c",
        "src/bind_slots.c",
        "src/bind_sync.c",
        "src/bind_map.c",
        "src/bind_squeue.c",
        "src/wait.c",
        "src/ring.c",
        "src/channel.c",
        "src/slots.c",
        "src/sync.c",
        "src/arena.c",
        "src/map.c",
        "src/squeue.c",
        "src/futex_linux.c",
        "src/futex_darwin.c",
        "src/futex_win.c"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=c11", "-O2", "-Wall", "-Wextra", "-Wshadow", "-Wconversion", "-Wno-unused-parameter"],
      "cflags!": ["-fno-exceptions"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-std=c11", "-O2", "-Wall", "-Wextra", "-Wshadow", "-Wconversion"]
      },
      "msvs_settings": {
        "VCCLCompilerTool": {
          "AdditionalOptions": ["/std:c11", "/experimental:c11atomics", "/W4"]
        },
        "VCLinkerTool": {
          "AdditionalDependencies": ["Synchronization.lib"]
        }
      }
    }
  ]
}
