{
  "targets": [
    {
      "target_name": "lodge_native",
      "sources": [
        "src/addon.cc",
        "src/spawn.cc",
        "src/exec.cc",
        "src/confine.cc",
        "src/mounts.cc",
        "src/sync.cc",
        "src/process.cc",
        "src/netlink.cc",
        "src/host_mount.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fno-exceptions"],
      "cflags_cc!": ["-fno-rtti"]
    }
  ]
}
