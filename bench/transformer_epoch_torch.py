#!/usr/bin/python3
"""One training epoch of the original's AudioTransNet in PyTorch, the reference for
bench/transformer_epoch.sh: the same model, data, batch, optimiser and validation as
`a2m train --model transformer --epochs 1`.

usage: transformer_epoch_torch.py DATASET SPLIT.json THREADS
       transformer_epoch_torch.py --check REFERENCE_DIR
DATASET is an `a2m dataset` folder (features.npy raw dB, labels.npy, index.json). --check loads the
original's trained state dict (../shared/data/reference/seed_transformer) into the model here, which
must give its stored logits: this is the same network.
Prints 'epoch_seconds S' (training batches + validation, as a2m's log counts them)."""
import json
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=2000):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe.unsqueeze(0))

    def forward(self, x):
        return self.dropout(x + self.pe[:, : x.size(1)])


class AudioTransNet(nn.Module):
    def __init__(self, n_bins=252, n_classes=4, d_model=128, nhead=4, num_layers=3, dim_ff=512, dropout=0.1):
        super().__init__()
        self.conv_embedding = nn.Sequential(
            nn.Conv1d(n_bins, 64, 3, padding=1), nn.BatchNorm1d(64), nn.ReLU(),
            nn.Conv1d(64, d_model, 3, padding=1), nn.BatchNorm1d(d_model), nn.ReLU())
        self.pos_encoder = PositionalEncoding(d_model, dropout)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_ff, dropout, batch_first=True)
        self.transformer_encoder = nn.TransformerEncoder(layer, num_layers)
        self.fc = nn.Linear(d_model, n_classes)

    def forward(self, x):  # [B, T, bins]
        x = self.conv_embedding(x.transpose(1, 2)).transpose(1, 2)
        return self.fc(self.transformer_encoder(self.pos_encoder(x)))


def read_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"]).copy())
    return out


def check_reference(model, ref):
    sd = read_safetensors(os.path.join(ref, "seed_transformer.safetensors"))
    sd = {k: (v.long() if k.endswith("num_batches_tracked") else v) for k, v in sd.items()}
    model.load_state_dict(sd)
    model.eval()
    with torch.no_grad():
        x = torch.from_numpy(np.load(os.path.join(ref, "voice_001_input.npy")))[None]
        err = (model(x)[0] - torch.from_numpy(np.load(os.path.join(ref, "voice_001_logits.npy")))).abs().max().item()
    print(f"reference check: this model with the original's weights: max abs logit error {err:.2e}")
    if err > 1e-4:
        sys.exit("transformer_epoch_torch: the model here is not the original's")


def main():
    if sys.argv[1] == "--check":
        torch.set_num_threads(1)
        check_reference(AudioTransNet(), sys.argv[2])
        return
    ds, split_path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = AudioTransNet()
    index = json.load(open(os.path.join(ds, "index.json")))
    split = json.load(open(split_path))
    feats = np.load(os.path.join(ds, "features.npy"), mmap_mode="r")
    labels = np.load(os.path.join(ds, "labels.npy"))
    offsets = np.concatenate([[0], np.cumsum(index["frames"])])
    where = {n: i for i, n in enumerate(index["names"])}

    def takes(names):
        x = np.stack([feats[offsets[where[n]]:offsets[where[n] + 1]] for n in names])
        y = np.stack([labels[offsets[where[n]]:offsets[where[n] + 1]] for n in names])
        x = (x - index["mean"]) / index["std"]
        return torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))

    xtr, ytr = takes(split["train"])
    xva, yva = takes(split["val"])
    opt = torch.optim.Adam(model.parameters(), lr=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    model.train()
    perm = torch.randperm(len(xtr))
    for i in range(0, len(xtr), 8):
        idx = perm[i:i + 8]
        opt.zero_grad()
        out = model(xtr[idx])
        loss = loss_fn(out.reshape(-1, out.shape[-1]), ytr[idx].reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(xva), 8):
            out = model(xva[i:i + 8])
            correct += (out.argmax(-1) == yva[i:i + 8]).sum().item()
    seconds = time.perf_counter() - t0
    print(f"train loss (last batch) {loss.item():.4f}, val accuracy {correct / yva.numel():.4f}")
    print(f"epoch_seconds {seconds:.2f}")


if __name__ == "__main__":
    main()
