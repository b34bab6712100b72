"""``manage.py build_tutor_dataset --curriculum ID --out DIR``: CLASS-format splits and a dataset card."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from models.llm.dataset import DatasetConfig, build_dataset
from tutor.tutormodels.curricula import UnknownCurriculum, problems_for


class Command(BaseCommand):
    help = "Play the simulated students against the tutor pipeline and write train/validation/test splits."

    def add_arguments(self, parser):
        parser.add_argument("--curriculum", action="append", required=True, help="id, slug or YAML path; repeatable")
        parser.add_argument("--out", required=True, help="output directory")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--max-turns", type=int, default=DatasetConfig.max_turns)
        parser.add_argument("--max-problems", type=int, default=None, help="use only this many problems (seeded)")
        parser.add_argument("--validation-fraction", type=float, default=DatasetConfig.validation_fraction)
        parser.add_argument("--test-fraction", type=float, default=DatasetConfig.test_fraction)

    def handle(self, *args, **opts):
        try:
            problems = [p for c in opts["curriculum"] for p in problems_for(c)]
        except UnknownCurriculum as error:
            raise CommandError(str(error)) from error
        config = DatasetConfig(
            seed=opts["seed"],
            max_turns=opts["max_turns"],
            max_problems=opts["max_problems"],
            validation_fraction=opts["validation_fraction"],
            test_fraction=opts["test_fraction"],
        )
        try:
            card = build_dataset(problems, opts["out"], opts["curriculum"], config)
        except ValueError as error:
            raise CommandError(str(error)) from error
        summary = {"out": opts["out"], "sizes": card["sizes"], "dataset_hash": card["dataset_hash"]}
        self.stdout.write(json.dumps(summary))
