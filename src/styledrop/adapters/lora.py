"""LoRA through peft, behind the same `Adapter` interface (a baseline for StyleDrop's adapter).

peft wraps each targeted Linear of the transformer (names match `AdapterConfig.lora_targets`).
`lora_alpha` equals the rank, so the LoRA scale is 1 and the diffusers export needs no alpha.
The per-row gate rides on a forward hook of each `lora_B` module: its output is the LoRA
update alone, so scaling it by the gate switches LoRA on or off per row.
"""

from __future__ import annotations

import re

import torch
from peft import LoraConfig, inject_adapter_in_model
from peft.tuners.lora import LoraLayer
from torch import nn

from .base import Adapter, AdapterConfig


def lora_sites(transformer: nn.Module, pattern: str) -> list[str]:
    regex = re.compile(pattern)
    return [name for name, module in transformer.named_modules() if isinstance(module, nn.Linear) and regex.fullmatch(name)]


class LoraAdapter(Adapter):
    def __init__(self, config: AdapterConfig, name: str = "styledrop"):
        super().__init__()
        self.config, self.adapter_name = config, name
        self._transformer: nn.Module | None = None
        self._handles: list = []
        self._initial: dict[str, torch.Tensor] | None = None

    def attach(self, transformer: nn.Module, generator: torch.Generator | None = None) -> None:
        if self._transformer is not None:
            raise RuntimeError("adapter is already attached")
        if not lora_sites(transformer, self.config.lora_targets):
            raise ValueError(f"no Linear module matches lora_targets {self.config.lora_targets!r}")
        peft_config = LoraConfig(r=self.config.rank, lora_alpha=self.config.rank, target_modules=self.config.lora_targets)
        inject_adapter_in_model(peft_config, transformer, adapter_name=self.adapter_name)
        self._transformer = transformer
        for layer in self._layers():
            if generator is not None:  # peft draws A from the global RNG; redraw it from ours
                a = layer.lora_A[self.adapter_name].weight
                with torch.no_grad():
                    a.copy_(torch.empty_like(a, device="cpu").uniform_(-1, 1, generator=generator).mul_(a.shape[1] ** -0.5))
            b_module = layer.lora_B[self.adapter_name]
            self._handles.append(b_module.register_forward_hook(lambda _m, _a, out: self.scale_rows(out)))
        if self._initial is not None:
            self.load_adapter_state(self._initial)

    def _layers(self) -> list[LoraLayer]:
        return [m for m in self._transformer.modules() if isinstance(m, LoraLayer) and self.adapter_name in m.lora_A]

    def detach(self) -> None:
        from peft.tuners.tuners_utils import BaseTunerLayer

        for handle in self._handles:
            handle.remove()
        self._handles = []
        for name, module in list(self._transformer.named_modules()):
            if isinstance(module, BaseTunerLayer) and self.adapter_name in module.lora_A:
                parent_name, _, child = name.rpartition(".")
                parent = self._transformer.get_submodule(parent_name) if parent_name else self._transformer
                setattr(parent, child, module.get_base_layer())
        configs = getattr(self._transformer, "peft_config", None)
        if configs is not None:
            configs.pop(self.adapter_name, None)
            if not configs:
                del self._transformer.peft_config
        self._transformer = None

    def adapter_state(self) -> dict[str, torch.Tensor]:
        """{module}.lora_A.weight / .lora_B.weight, the module names of the unwrapped base."""
        state = {}
        for name, module in self._transformer.named_modules():
            if isinstance(module, LoraLayer) and self.adapter_name in module.lora_A:
                state[f"{name}.lora_A.weight"] = module.lora_A[self.adapter_name].weight.detach()
                state[f"{name}.lora_B.weight"] = module.lora_B[self.adapter_name].weight.detach()
        return state

    def load_adapter_state(self, state: dict[str, torch.Tensor]) -> None:
        if self._transformer is None:  # remembered until attach
            self._initial = dict(state)
            return
        own = self.adapter_state()
        if set(own) != set(state):
            missing, extra = sorted(set(own) - set(state))[:3], sorted(set(state) - set(own))[:3]
            raise ValueError(f"LoRA tensors do not match this model (missing {missing}, unexpected {extra})")
        with torch.no_grad():
            for key, tensor in own.items():
                tensor.copy_(state[key])

    def trainable_parameters(self) -> list[nn.Parameter]:
        params = []
        for layer in self._layers():
            params += [layer.lora_A[self.adapter_name].weight, layer.lora_B[self.adapter_name].weight]
        return params
